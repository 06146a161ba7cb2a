#!/usr/bin/env node
import { launcherFrom } from "../service/cli.js";
import { runNestbox } from "./commands.js";
import { processIO } from "./io.js";
import { projectDir } from "./project.js";

const code = await runNestbox(process.argv.slice(2), processIO(), {
  stdin: process.stdin,
  stdout: process.stdout,
  projectDir: projectDir(),
  launcher: launcherFrom(process.execPath, process.execArgv, process.argv[1] ?? "", process.cwd()),
  // SIGHUP too: a closed terminal or a lost SSH session stops the host cleanly (agents removed).
  stopSignal: () =>
    new Promise((resolve) => {
      for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const)
        process.once(signal, () => resolve(signal));
    }),
});
// A finished command exits now: a model request still in flight must not keep the process alive.
process.exit(code);
