import path from "node:path";
import { type CommandSpec, defineCommand, type ParseArgsOptionsConfig } from "../cli/args.js";
import { loadContext } from "../context.js";
import { printDoctor, runDoctor } from "./doctor.js";

/** The checks' help text, shared by `setup verify` and `nestbox doctor`. */
export const DOCTOR_HELP = `Checks, each ok / warn / FAIL with its fix:
  variables    unknown variables that look like nestbox's (typos such as OPENAI_BASEURL)
  model        a real 1-token call to MODEL through the configured base URL, proxy and CA
  docker       the engine answers (permission denied: the docker group fix)
  agent image  present and built from this nestbox's container/ sources
  data folder  the daemon mounts its folders and the agents' user reads them (the startup probe)
  telegram     token and privacy mode;  whatsapp  linked or not
  --fix        create missing folders, chmod the data folder for the agents' user, rebuild a stale image
Exits 1 when a check fails, 0 when all are ok or warnings.
`;

const VERIFY = {
  name: "setup verify",
  usage: `Usage: npm run setup -- verify [--fix] [--json]      (the same as nestbox doctor)

${DOCTOR_HELP}`,
  options: { fix: { type: "boolean" } },
  json: true,
} satisfies CommandSpec<ParseArgsOptionsConfig>;

const projectDir = path.resolve(import.meta.dirname, "..", "..");

/** `setup verify`: the doctor's checks (see {@link runDoctor}), with `--fix` for the easy cases. */
export const verify = defineCommand(VERIFY, async ({ values, json }, io) => {
  const checks = await runDoctor(loadContext(io), {
    fix: values.fix === true,
    projectDir,
    progress: (line) => io.stderr.write(`${line}\n`),
  });
  return printDoctor(io, checks, json);
});
