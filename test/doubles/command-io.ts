import type { CommandIO } from "../../src/cli/io.js";

/** A CommandIO that records what a command prints; `out()` reads it back. */
export function captureIO(env: Record<string, string | undefined>, cwd: string) {
  let stdout = "";
  let stderr = "";
  const io: CommandIO = {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    env,
    cwd,
  };
  return { io, out: () => ({ stdout, stderr }) };
}
