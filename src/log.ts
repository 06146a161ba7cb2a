import { type DestinationStream, type LevelWithSilent, type Logger, pino } from "pino";
import { prettyDestination } from "./log-pretty.js";

export type { Logger };

/** How log lines look: JSON for machines and files, one readable line per entry for a person. */
export type LogFormat = "json" | "pretty";

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  level?: string;
  /** `json` (default) or `pretty`; see {@link chooseLogFormat}. */
  format?: LogFormat;
  /** Where log lines go; stderr by default so stdout stays free for replies and `--json`. */
  destination?: DestinationStream;
  /** A second destination (the service's log file), always JSON, at its own level. */
  also?: { stream: DestinationStream; level: string };
}

const VERBOSE = new Set(["debug", "trace"]);

/** A pino logger writing JSON lines, or readable lines with `format: "pretty"` (stacks only at debug). */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? "info";
  const out = options.destination ?? pino.destination(2);
  const screen = options.format === "pretty" ? prettyDestination(out, { stacks: VERBOSE.has(level) }) : out;
  if (!options.also) return pino({ level: level as LevelWithSilent, base: undefined }, screen);
  const value = (l: string) => pino.levels.values[l] ?? Number.POSITIVE_INFINITY;
  const lowest = value(options.also.level) < value(level) ? options.also.level : level;
  const destination = pino.multistream([
    { level: level as pino.Level, stream: screen },
    { level: options.also.level as pino.Level, stream: options.also.stream },
  ]);
  return pino({ level: lowest as LevelWithSilent, base: undefined }, destination);
}

/** LOG_FORMAT `auto` means pretty at a terminal (stderr is a TTY) and JSON everywhere else. */
export function chooseLogFormat(setting: "auto" | LogFormat, stderrIsTTY: boolean): LogFormat {
  if (setting !== "auto") return setting;
  return stderrIsTTY ? "pretty" : "json";
}

/** A logger that drops everything: for tests and commands that print their own output. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}

/**
 * A log destination whose target can change while the logger lives: at an interactive terminal the
 * lines go above the chat's prompt once the terminal channel runs, and to stderr before and after.
 */
export class LogSink implements DestinationStream {
  readonly #fallback: (line: string) => void;
  #target: ((line: string) => void) | null = null;

  constructor(fallback: (line: string) => void) {
    this.#fallback = fallback;
  }

  write(line: string): void {
    (this.#target ?? this.#fallback)(line);
  }

  /** Sends lines to `target` from now on; `null` goes back to the fallback. */
  redirect(target: ((line: string) => void) | null): void {
    this.#target = target;
  }
}
