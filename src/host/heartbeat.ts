import type { Logger } from "../log.js";
import type { MetaTable } from "../store/meta.js";

/** Options for {@link Heartbeat}. */
export interface HeartbeatOptions {
  meta: MetaTable;
  log: Logger;
  /** How often the host writes "still alive" (default 5 s). */
  intervalMs?: number;
  now?: () => number;
}

/**
 * Writes the host's start, a heartbeat every few seconds and its clean stop into the store's meta
 * table, so `status` can tell a crash (a heartbeat and no stop) from a clean stop, and say when.
 */
export class Heartbeat {
  readonly #o: HeartbeatOptions;
  #timer: NodeJS.Timeout | null = null;

  constructor(options: HeartbeatOptions) {
    this.#o = options;
  }

  /** The default interval: status reports a heartbeat older than three of these as stale. */
  static readonly DEFAULT_INTERVAL_MS = 5000;

  start(): void {
    const now = this.#o.now ?? Date.now;
    this.#o.meta.markHostStarted(now());
    this.#timer = setInterval(() => {
      try {
        this.#o.meta.markHostAlive(now());
      } catch (err) {
        // A busy or full disk must not stop the host; status will call the heartbeat stale.
        this.#o.log.warn({ err }, "could not write the host heartbeat");
      }
    }, this.#o.intervalMs ?? Heartbeat.DEFAULT_INTERVAL_MS);
    this.#timer.unref();
  }

  /** Stops beating and records the clean stop. */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#o.meta.markHostStopped((this.#o.now ?? Date.now)());
  }
}
