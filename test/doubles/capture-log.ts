import { Writable } from "node:stream";
import { pino } from "pino";
import type { Logger } from "../../src/log.js";

/** A log line as pino wrote it. */
export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** A debug-level logger whose lines the test can read. */
export function captureLog(): { log: Logger; lines: LogLine[]; text: () => string } {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split("\n"))
        if (line.trim()) lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  return {
    log: pino({ level: "debug" }, sink),
    lines,
    text: () => lines.map((l) => JSON.stringify(l)).join("\n"),
  };
}
