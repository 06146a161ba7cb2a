#!/usr/bin/env node
import { runNestbox } from "./commands.js";
import { processIO } from "./io.js";
import { projectDir } from "./project.js";

const code = await runNestbox(process.argv.slice(2), processIO(), {
  stdin: process.stdin,
  stdout: process.stdout,
  projectDir: projectDir(),
  stopSignal: () =>
    new Promise((resolve) => {
      process.once("SIGINT", () => resolve("SIGINT"));
      process.once("SIGTERM", () => resolve("SIGTERM"));
    }),
});
// A finished command exits now: a model request still in flight must not keep the process alive.
process.exit(code);
