import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";

const root = path.join(import.meta.dirname, "..", "..");

/** A real `nestbox start` process, driven through its stdin like a user at a terminal. */
export interface HostProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout (or stderr with `stream`) contains `text`. */
  waitFor(
    text: string | RegExp,
    options?: { stream?: "stdout" | "stderr"; timeoutMs?: number },
  ): Promise<void>;
  send(line: string): void;
  endInput(): void;
  exited(): Promise<number | null>;
}

/** Starts `nestbox start` in `cwd` with exactly `env` (plus PATH and HOME). */
export function startHost(cwd: string, env: Record<string, string>, args: string[] = []): HostProcess {
  const child = spawn(
    path.join(root, "node_modules/.bin/tsx"),
    [path.join(root, "src/cli/nestbox.ts"), "start", ...args],
    {
      cwd,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? cwd, LOG_LEVEL: "info", ...env },
      stdio: ["pipe", "pipe", "pipe"],
    },
  );
  let out = "";
  let err = "";
  const listeners = new Set<() => void>();
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
    for (const l of listeners) l();
  });
  child.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
    for (const l of listeners) l();
  });
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    send: (line) => child.stdin?.write(`${line}\n`),
    endInput: () => child.stdin?.end(),
    exited: () => exit,
    waitFor: (text, options = {}) =>
      new Promise<void>((resolve, reject) => {
        const read = () => (options.stream === "stderr" ? err : out);
        const hit = () => (typeof text === "string" ? read().includes(text) : text.test(read()));
        const done = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        const check = () => {
          if (hit()) {
            done();
            resolve();
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(
            new Error(
              `timed out waiting for ${text}\n--- stdout\n${out}\n--- stderr (tail)\n${err.slice(-4000)}`,
            ),
          );
        }, options.timeoutMs ?? 60_000);
        listeners.add(check);
        void exit.then(() => {
          if (!hit()) {
            done();
            reject(
              new Error(
                `host exited before ${text}\n--- stdout\n${out}\n--- stderr (tail)\n${err.slice(-4000)}`,
              ),
            );
          }
        });
        check();
      }),
  };
}
