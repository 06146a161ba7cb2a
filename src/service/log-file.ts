import { closeSync, fstatSync, mkdirSync, openSync, renameSync, writeSync } from "node:fs";
import path from "node:path";

/** Size-rotated log file settings. */
export interface RotatingFileOptions {
  /** The current log file; older ones are `<file>.1` (newest) to `<file>.<files - 1>`. */
  file: string;
  /** A file is rotated before it would grow past this; default 10 MiB. */
  maxBytes?: number;
  /** Files kept, the current one included; default 5 (so at most 50 MiB). */
  files?: number;
}

/** 10 MiB per file, 5 files. */
export const LOG_ROTATION = { maxBytes: 10 * 1024 * 1024, files: 5 } as const;

/**
 * An append-only log file rotated by size, written synchronously (a line is on disk once `write`
 * returns). A failing disk never takes the host down: the line is dropped here (stderr still has it).
 */
export class RotatingFile {
  readonly file: string;
  readonly #maxBytes: number;
  readonly #files: number;
  #fd: number | null = null;
  #size = 0;

  constructor(options: RotatingFileOptions) {
    this.file = options.file;
    this.#maxBytes = options.maxBytes ?? LOG_ROTATION.maxBytes;
    this.#files = Math.max(1, options.files ?? LOG_ROTATION.files);
    // The files are 0600 (logs name chats and senders); folders keep the usual mode, since one of them
    // may be the data folder, which the agents' uid must be able to enter.
    mkdirSync(path.dirname(this.file), { recursive: true });
    this.#open();
  }

  /** Appends one chunk (pino hands whole lines), rotating first when it would not fit. */
  write(chunk: string | Buffer): boolean {
    const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    try {
      if (this.#size > 0 && this.#size + bytes.length > this.#maxBytes) this.#rotate();
      if (this.#fd === null) this.#open();
      writeSync(this.#fd as number, bytes);
      this.#size += bytes.length;
    } catch {
      // Disk full or the folder gone: keep running; the next write tries again.
      this.#closeFd();
    }
    return true;
  }

  close(): void {
    this.#closeFd();
  }

  #open(): void {
    this.#fd = openSync(this.file, "a", 0o600);
    this.#size = fstatSync(this.#fd).size;
  }

  #rotate(): void {
    this.#closeFd();
    // <file>.(n-2) -> .(n-1) (replacing the oldest), ..., <file> -> .1
    for (let i = this.#files - 2; i >= 1; i--) renameIfPresent(`${this.file}.${i}`, `${this.file}.${i + 1}`);
    if (this.#files > 1) renameIfPresent(this.file, `${this.file}.1`);
    else renameIfPresent(this.file, `${this.file}.old`);
    this.#open();
  }

  #closeFd(): void {
    if (this.#fd === null) return;
    try {
      closeSync(this.#fd);
    } catch {
      // already closed
    }
    this.#fd = null;
  }
}

function renameIfPresent(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
}

/** The file logs also go to: NESTBOX_LOG_FILE, else `<data>/logs/nestbox.log` when running as a service, else none. */
export function logFileFor(
  config: { logFile: string | null; dataDir: string },
  service: boolean,
): string | null {
  return config.logFile ?? (service ? path.join(config.dataDir, "logs", "nestbox.log") : null);
}
