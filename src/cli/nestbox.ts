#!/usr/bin/env node
import { existsSync } from "node:fs";
import path from "node:path";
import { launcherFrom } from "../service/cli.js";
import { runNestbox } from "./commands.js";
import { processIO } from "./io.js";

/** The folder holding `container/Dockerfile` and `skills/`: two or three levels up (sources or dist/). */
function projectDir(): string {
  const candidates = [
    path.resolve(import.meta.dirname, "../.."),
    path.resolve(import.meta.dirname, "../../.."),
  ];
  return (
    candidates.find((d) => existsSync(path.join(d, "container", "Dockerfile"))) ?? (candidates[0] as string)
  );
}

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
