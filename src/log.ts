import { type DestinationStream, type Logger, pino } from "pino";

export type { Logger };

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  level?: string;
  /** Where log lines go; stderr by default so stdout stays free for replies and `--json`. */
  destination?: DestinationStream;
}

/** A pino logger writing JSON lines (to stderr unless told otherwise). */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    { level: options.level ?? "info", base: undefined },
    options.destination ?? pino.destination(2),
  );
}

/** A logger that drops everything: for tests and commands that print their own output. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
