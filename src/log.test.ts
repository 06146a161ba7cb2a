import { expect, it } from "vitest";
import { createLogger, LogSink } from "./log.js";
import { formatLine } from "./log-pretty.js";

function capture(level: string, format: "json" | "pretty") {
  const lines: string[] = [];
  const log = createLogger({
    level,
    format,
    destination: { write: (s: string) => lines.push(s) },
  });
  return { log, lines };
}

class TurnError extends Error {
  readonly code = "MODEL_UNREACHABLE";
  override readonly name = "AgentError";
}

const failed = () =>
  new TurnError("model call failed", { cause: new Error("connect ECONNREFUSED 127.0.0.1:11434") });

it("writes one readable line per entry: local time, level, message, fields", () => {
  const { log, lines } = capture("info", "pretty");
  log.info({ chatId: "tg:123", messages: 2, note: "two words", extra: { a: 1 } }, "turn started");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(
    /^\d\d:\d\d:\d\d INFO {2}turn started chatId=tg:123 messages=2 note="two words" extra=\{"a":1\}\n$/,
  );
});

it("a failed turn is one line with the error's message and code, no stack, at info", () => {
  const { log, lines } = capture("info", "pretty");
  log.error({ err: failed(), chatId: "tg:123", turnId: 7 }, "turn failed");
  expect(lines).toHaveLength(1);
  const [line] = lines as [string];
  expect(line.split("\n")).toHaveLength(2); // the line and its newline
  expect(line).toMatch(
    /^\d\d:\d\d:\d\d ERROR turn failed chatId=tg:123 turnId=7 error="model call failed: connect ECONNREFUSED 127.0.0.1:11434" code=MODEL_UNREACHABLE\n$/,
  );
  expect(line).not.toContain("    at ");
});

it("at debug the same entry carries the stack, indented below the line", () => {
  const { log, lines } = capture("debug", "pretty");
  log.error({ err: failed(), chatId: "tg:123" }, "turn failed");
  const rows = (lines[0] as string).trimEnd().split("\n");
  expect(rows[0]).toMatch(/ERROR turn failed chatId=tg:123 error="model call failed: /);
  expect(rows.slice(1).every((r) => r.startsWith("    "))).toBe(true);
  expect(rows.some((r) => r.includes("caused by: Error: connect ECONNREFUSED"))).toBe(true);
});

it("stays JSON when asked for JSON", () => {
  const { log, lines } = capture("info", "json");
  log.error({ err: failed(), chatId: "tg:123" }, "turn failed");
  expect(JSON.parse(lines[0] as string)).toMatchObject({ level: 50, msg: "turn failed", chatId: "tg:123" });
});

it("formats the time of the entry in local time and keeps lines that are not JSON as they are", () => {
  const time = new Date(2026, 0, 1, 9, 12, 3).getTime();
  expect(formatLine(JSON.stringify({ level: 40, time, msg: "slow" }), false)).toBe("09:12:03 WARN  slow\n");
  expect(formatLine("not json\n", false)).toBe("not json\n");
});

it("a LogSink sends lines to its target while one is set, else to its fallback", () => {
  const fallback: string[] = [];
  const target: string[] = [];
  const sink = new LogSink((l) => fallback.push(l));
  const log = createLogger({ format: "pretty", destination: sink });
  log.warn("one");
  sink.redirect((l) => target.push(l));
  log.warn("two");
  sink.redirect(null);
  log.warn("three");
  expect([fallback.length, target.length]).toEqual([2, 1]);
  expect(target[0]).toMatch(/WARN {2}two\n$/);
});
