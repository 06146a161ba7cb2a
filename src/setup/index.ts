import { processIO } from "../cli/io.js";
import { runSetup } from "./cli.js";

process.exitCode = await runSetup(process.argv.slice(2), processIO());
