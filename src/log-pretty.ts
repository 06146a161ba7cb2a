import type { DestinationStream } from "pino";

const LEVELS: Record<number, string> = {
  10: "TRACE",
  20: "DEBUG",
  30: "INFO",
  40: "WARN",
  50: "ERROR",
  60: "FATAL",
};

const two = (n: number) => String(n).padStart(2, "0");

function value(v: unknown): string {
  if (typeof v === "string") return v !== "" && /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  if (typeof v === "number" || typeof v === "boolean" || v === null) return String(v);
  return JSON.stringify(v) ?? String(v);
}

interface SerializedError {
  message?: string;
  code?: unknown;
  stack?: string;
}

/**
 * One pino JSON line as a person reads it: `09:12:03 ERROR turn failed chatId=tg:1 error="..."`.
 * An error is its message (causes included) and code; its stack follows, indented, only with `stacks`.
 */
export function formatLine(line: string, stacks: boolean): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.endsWith("\n") ? line : `${line}\n`;
  }
  const { level, time, msg, err, ...fields } = entry;
  const at = new Date(typeof time === "number" ? time : Date.now());
  const name = (LEVELS[level as number] ?? String(level)).padEnd(5);
  const parts = [`${two(at.getHours())}:${two(at.getMinutes())}:${two(at.getSeconds())} ${name}`];
  if (typeof msg === "string" && msg !== "") parts.push(msg);
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) parts.push(`${k}=${value(v)}`);
  let stack = "";
  if (err && typeof err === "object") {
    const e = err as SerializedError;
    parts.push(`error=${value(e.message ?? "")}`);
    if (e.code !== undefined) parts.push(`code=${value(e.code)}`);
    if (stacks && e.stack) stack = `\n${e.stack.replace(/^/gm, "    ")}`;
  } else if (err !== undefined) parts.push(`error=${value(err)}`);
  return `${parts.join(" ")}${stack}\n`;
}

/** A pino destination that writes {@link formatLine}'s lines to `out` (stderr, a file). */
export function prettyDestination(
  out: { write(text: string): unknown },
  options: { stacks: boolean },
): DestinationStream {
  return { write: (line: string) => void out.write(formatLine(line, options.stacks)) };
}
