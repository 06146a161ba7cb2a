import { NestboxError, UsageError } from "../errors.js";

/** Where a command writes; injected so tests read exactly what a user sees. */
export interface CommandIO {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  env: Record<string, string | undefined>;
  cwd: string;
}

/** The process's own streams, environment and directory. */
export function processIO(): CommandIO {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() };
}

/** Exit codes of every command: 0 done, 1 failed, 2 the command line was wrong (as parseArgs users expect). */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/**
 * Reports a failed command: one line naming the cause and the fix (or a JSON object with
 * `--json`), and returns the exit code: 2 for a usage error, 1 for anything else.
 */
export function fail(io: CommandIO, err: unknown, json: boolean): number {
  const code = err instanceof NestboxError ? err.code : "ERROR";
  const message = err instanceof Error ? err.message : String(err);
  if (json) io.stdout.write(`${JSON.stringify({ ok: false, code, error: message })}\n`);
  else io.stderr.write(`error: ${message}\n`);
  return err instanceof UsageError ? EXIT.usage : EXIT.failed;
}
