import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";

const root = path.join(import.meta.dirname, "..");

/** A running process whose output a test waits on and whose stdin it drives like a user at a terminal. */
export interface LiveProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /**
   * Resolves with the first match once stdout (or stderr with `stream`) contains `pattern`; rejects
   * with both outputs on timeout or when the process exits first.
   */
  waitFor(
    pattern: string | RegExp,
    options?: { stream?: "stdout" | "stderr"; timeoutMs?: number },
  ): Promise<string>;
  send(line: string): void;
  endInput(): void;
  exited(): Promise<number | null>;
}

/** Watches a spawned process (stdio piped) as a {@link LiveProcess}. */
export function watchProcess(child: ChildProcess): LiveProcess {
  let out = "";
  let err = "";
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const l of listeners) l();
  };
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
    notify();
  });
  child.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
    notify();
  });
  const exit = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  const outputs = () => `\n--- stdout\n${out}\n--- stderr (tail)\n${err.slice(-6000)}`;
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    send: (line) => child.stdin?.write(`${line}\n`),
    endInput: () => child.stdin?.end(),
    exited: () => exit,
    waitFor: (pattern, options = {}) =>
      new Promise<string>((resolve, reject) => {
        const read = () => (options.stream === "stderr" ? err : out);
        const match = () => {
          const text = read();
          if (typeof pattern === "string") return text.includes(pattern) ? pattern : null;
          return pattern.exec(text)?.[0] ?? null;
        };
        let finished = false;
        const finish = (fn: () => void) => {
          if (finished) return;
          finished = true;
          clearTimeout(timer);
          listeners.delete(check);
          fn();
        };
        const check = () => {
          const m = match();
          if (m !== null) finish(() => resolve(m));
        };
        const timer = setTimeout(
          () => finish(() => reject(new Error(`timed out waiting for ${pattern}${outputs()}`))),
          options.timeoutMs ?? 60_000,
        );
        listeners.add(check);
        void exit.then((code) => {
          check();
          finish(() => reject(new Error(`exited (${code}) before ${pattern}${outputs()}`)));
        });
        check();
      }),
  };
}

/** Starts `nestbox start` in `cwd` with exactly `env` (plus PATH and HOME). */
export function startHost(cwd: string, env: Record<string, string>, args: string[] = []): LiveProcess {
  return watchProcess(
    spawn(
      path.join(root, "node_modules/.bin/tsx"),
      [path.join(root, "src/cli/nestbox.ts"), "start", ...args],
      {
        cwd,
        env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? cwd, LOG_LEVEL: "info", ...env },
        stdio: ["pipe", "pipe", "pipe"],
      },
    ),
  );
}
