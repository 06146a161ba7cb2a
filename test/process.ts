import { type ChildProcess, type SpawnOptions, spawn } from "node:child_process";
import path from "node:path";
import { pathToFileURL } from "node:url";

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
  /** Writes `input` (if any) and closes stdin. */
  endInput(input?: string): void;
  /** Resolves with the exit code once the process has exited and its output is read. */
  exited(): Promise<number | null>;
  /** Sends `signal` and resolves once the process itself has exited (children may still hold its pipes). */
  kill(signal?: NodeJS.Signals): Promise<number | null>;
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
  const gone = new Promise<number | null>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once("exit", (code) => resolve(code));
  });
  const outputs = () => `\n--- stdout\n${out}\n--- stderr (tail)\n${err.slice(-6000)}`;
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    send: (line) => child.stdin?.write(`${line}\n`),
    endInput: (input) => child.stdin?.end(input ?? ""),
    exited: () => exit,
    kill: (signal = "SIGTERM") => {
      child.kill(signal);
      return gone;
    },
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

/** Spawns `cmd` with stdio piped and watches it. */
export function spawnProcess(cmd: string, args: string[], options: SpawnOptions = {}): LiveProcess {
  return watchProcess(spawn(cmd, args, { ...options, stdio: ["pipe", "pipe", "pipe"] }));
}

/** How a process run to completion ended. */
export interface ProcessResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Options for {@link runProcess}. */
export interface RunOptions {
  input?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Resolve on a non-zero exit too, instead of rejecting with the output. */
  allowFail?: boolean;
  /** Killed (SIGKILL) after this long; default 120 s. */
  timeoutMs?: number;
}

/** Runs a command to completion with `input` on stdin; rejects on a non-zero exit unless `allowFail`. */
export async function runProcess(
  cmd: string,
  args: string[],
  options: RunOptions = {},
): Promise<ProcessResult> {
  const child = spawn(cmd, args, {
    env: options.env ?? process.env,
    cwd: options.cwd,
    stdio: ["pipe", "pipe", "pipe"],
  });
  const failed = new Promise<never>((_, reject) => child.on("error", reject));
  const p = watchProcess(child);
  p.endInput(options.input);
  const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 120_000);
  try {
    const code = await Promise.race([p.exited(), failed]);
    const result = { code, stdout: p.stdout(), stderr: p.stderr() };
    if (code !== 0 && !options.allowFail) {
      throw new Error(
        `${cmd} ${args.join(" ").slice(0, 300)} exited with ${code}\n${result.stderr.slice(-3000)}${result.stdout.slice(-1000)}`,
      );
    }
    return result;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * How to run a TypeScript file as ONE node process (tsx's loader in node itself, not the tsx wrapper
 * that spawns a second node): a signal sent to it reaches the program, SIGKILL included.
 */
export function tsNode(file: string, args: string[] = []): [string, string[]] {
  const loader = pathToFileURL(path.join(root, "node_modules/tsx/dist/loader.mjs")).href;
  return [process.execPath, ["--import", loader, file, ...args]];
}

/** Runs the `nestbox` CLI (through tsx, from source) to completion in `cwd` with exactly `env` (plus PATH and HOME). */
export function runNestbox(
  cwd: string,
  args: string[],
  options: { input?: string; env?: Record<string, string> } = {},
): Promise<ProcessResult> {
  return runProcess(...tsNode(path.join(root, "src/cli/nestbox.ts"), args), {
    cwd,
    // Any free health port: tests run hosts side by side.
    env: {
      PATH: process.env.PATH ?? "",
      HOME: cwd,
      LOG_LEVEL: "warn",
      NESTBOX_HEALTH_PORT: "0",
      ...options.env,
    },
    input: options.input,
    allowFail: true,
  });
}

/** Starts `nestbox start` in `cwd` with exactly `env` (plus PATH and HOME). */
export function startHost(cwd: string, env: Record<string, string>, args: string[] = []): LiveProcess {
  return spawnProcess(...tsNode(path.join(root, "src/cli/nestbox.ts"), ["start", ...args]), {
    cwd,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? cwd,
      LOG_LEVEL: "info",
      NESTBOX_HEALTH_PORT: "0",
      ...env,
    },
  });
}
