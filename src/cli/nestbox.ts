#!/usr/bin/env node
import { existsSync } from "node:fs";
import path from "node:path";
import { listChats, printChats } from "../../setup/chats.js";
import { loadConfig, readEnvironment } from "../config.js";
import { DockerRuntime } from "../containers/docker-runtime.js";
import { detectSandbox } from "../containers/sandbox/index.js";
import { start } from "../main.js";
import { fail, processIO } from "./io.js";
import { printStatus, status } from "./status.js";

const USAGE = `Usage: nestbox <command>

Commands:
  start [--terminal]   run the host (opens the terminal chat when no other channel is configured)
  status [--json]      chats, their last turn and running agent, undelivered replies
  chats [--json]       list registered chats
`;

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

async function run(argv: string[]): Promise<number> {
  const io = processIO();
  const [command = "start", ...rest] = argv;
  const json = rest.includes("--json");
  try {
    if (command === "start") {
      const stopSignal = new Promise<"SIGINT" | "SIGTERM">((resolve) => {
        process.once("SIGINT", () => resolve("SIGINT"));
        process.once("SIGTERM", () => resolve("SIGTERM"));
      });
      return await start({
        io: { ...io, stdin: process.stdin, stdout: process.stdout },
        terminal: rest.includes("--terminal"),
        projectDir: projectDir(),
        stopSignal,
      });
    }
    if (command === "status") {
      const env = readEnvironment(io.env, io.cwd);
      const config = loadConfig(env, io.cwd);
      const docker = new DockerRuntime({ dockerHost: detectSandbox({ env }).dockerHost ?? undefined });
      printStatus(io, await status(config, docker), json);
      return 0;
    }
    if (command === "chats") {
      printChats(io, listChats(loadConfig(readEnvironment(io.env, io.cwd), io.cwd).dataDir), json);
      return 0;
    }
    io.stdout.write(USAGE);
    return command === "help" || command === "--help" ? 0 : 1;
  } catch (err) {
    return fail(io, err, json);
  }
}

// A finished command exits now: a model request still in flight must not keep the process alive.
process.exit(await run(process.argv.slice(2)));
