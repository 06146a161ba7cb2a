import type { Api } from "grammy";
import type { Update } from "grammy/types";
import type { ChannelError } from "../../errors.js";
import type { Logger } from "../../log.js";
import { classify, describeFailure, toChannelError } from "./errors.js";
import { callWithRetry, grammySignal, type RetryPolicy, retryDelay, type Sleep } from "./retry.js";

/** Dependencies and callbacks of {@link Poller}. */
export interface PollerConfig {
  api: Api;
  log: Logger;
  retry: RetryPolicy;
  sleep: Sleep;
  /** Long-polling timeout sent to getUpdates, in seconds. */
  timeoutSeconds: number;
  /**
   * Takes one update and resolves once it is stored (or deliberately ignored); a rejection means it
   * was not stored, so its offset is not confirmed and Telegram sends it again.
   */
  dispatch(update: Update): Promise<void>;
  /** Polling works again after a network outage. */
  onRecovered(): void;
  /** A getUpdates call failed and will be retried (the health endpoint reports the channel down). */
  onFailing?(reason: string): void;
  /** Polling stopped for good: 401 (bad token) or 409 (another instance). */
  onFatal(error: ChannelError): void;
}

const ALLOWED_UPDATES = ["message"] as const;

/**
 * The getUpdates loop. Telegram forgets every update below the `offset` of the next call, so the
 * offset only moves past updates whose `dispatch` resolved (stored), one at a time in update order;
 * `confirm()` acknowledges the last ones on shutdown, as grammy's `bot.stop()` does.
 */
export class Poller {
  readonly #c: PollerConfig;
  #offset = 0;
  #abort: AbortController | null = null;
  #loop: Promise<void> | null = null;

  constructor(config: PollerConfig) {
    this.#c = config;
  }

  /**
   * Makes a first, non-blocking getUpdates call (retrying network failures up to maxAttempts) and then
   * keeps polling in the background. Rejects with the ChannelError when that first call fails.
   */
  async start(): Promise<void> {
    const abort = new AbortController();
    this.#abort = abort;
    const first = await callWithRetry(
      "getUpdates",
      () =>
        this.#c.api.getUpdates(
          { ...this.#offsetParam(), timeout: 0, allowed_updates: [...ALLOWED_UPDATES] },
          grammySignal(this.#requestSignal(abort.signal, 0)),
        ),
      {
        retry: this.#c.retry,
        sleep: this.#c.sleep,
        log: this.#c.log,
        signal: abort.signal,
        failureLevel: "debug",
      },
    );
    this.#loop = this.#take(first, abort.signal).then((ok) => this.#run(abort.signal, ok ? 0 : 1));
  }

  /** Stops polling and waits for the loop to end; safe to call more than once. */
  async stop(): Promise<void> {
    this.#abort?.abort();
    this.#abort = null;
    await this.#loop;
    this.#loop = null;
  }

  /** Acknowledges every update stored so far; best effort, logged on failure. */
  async confirm(): Promise<void> {
    if (this.#offset === 0) return;
    try {
      await this.#c.api.getUpdates(
        { offset: this.#offset, limit: 1, timeout: 0 },
        grammySignal(this.#requestSignal(undefined, 0)),
      );
    } catch (err) {
      this.#c.log.warn({ reason: describeFailure(err) }, "could not confirm the Telegram update offset");
    }
  }

  async #run(signal: AbortSignal, storeFailures: number): Promise<void> {
    let failures = 0;
    let unstored = storeFailures;
    while (!signal.aborted) {
      if (unstored > 0 && !(await this.#backOff(unstored, signal))) return;
      let updates: Update[];
      try {
        const payload = { ...this.#offsetParam(), timeout: this.#c.timeoutSeconds };
        updates = await this.#c.api.getUpdates(
          payload,
          grammySignal(this.#requestSignal(signal, this.#c.timeoutSeconds)),
        );
      } catch (err) {
        if (signal.aborted) return;
        const failure = classify(err);
        if (failure.kind === "unauthorized" || failure.kind === "conflict") {
          this.#c.onFatal(toChannelError(err, "getUpdates"));
          return;
        }
        failures++;
        this.#c.onFailing?.(describeFailure(err));
        const wait =
          failure.kind === "rate_limited" ? failure.retryAfterMs : retryDelay(failures, this.#c.retry);
        const level = failures === 1 ? "warn" : "debug";
        this.#c.log[level](
          { failures, waitMs: wait, reason: describeFailure(err) },
          "Telegram polling failed, retrying",
        );
        try {
          await this.#c.sleep(wait, signal);
        } catch {
          return;
        }
        continue;
      }
      if (failures > 0) {
        this.#c.log.info({ failures }, "Telegram polling recovered");
        failures = 0;
        this.#c.onRecovered();
      }
      unstored = (await this.#take(updates, signal)) ? 0 : unstored + 1;
    }
  }

  /**
   * Stores the updates in order; the offset moves past each one only once it is stored, so an update
   * confirmed to Telegram is always in the store. False when one could not be stored: the rest of the
   * batch is left for the next getUpdates, which hands them out again.
   */
  async #take(updates: Update[], signal: AbortSignal): Promise<boolean> {
    for (const update of updates) {
      if (update.update_id < this.#offset) continue;
      try {
        await this.#c.dispatch(update);
      } catch (err) {
        this.#c.log.error(
          { updateId: update.update_id, reason: describeFailure(err) },
          "a Telegram update could not be stored; it stays unconfirmed and comes back",
        );
        return false;
      }
      this.#offset = update.update_id + 1;
      if (signal.aborted) return true;
    }
    return true;
  }

  /** Waits before asking again for updates that could not be stored; false when stopped meanwhile. */
  async #backOff(attempt: number, signal: AbortSignal): Promise<boolean> {
    try {
      await this.#c.sleep(retryDelay(attempt, this.#c.retry), signal);
      return true;
    } catch {
      return false;
    }
  }

  #offsetParam(): { offset?: number } {
    return this.#offset > 0 ? { offset: this.#offset } : {};
  }

  /** Aborts on stop, and after the long-poll timeout plus a margin so a silent network cannot hang the loop. */
  #requestSignal(stop: AbortSignal | undefined, pollSeconds: number): AbortSignal {
    const timeout = AbortSignal.timeout((pollSeconds + 15) * 1000);
    return stop ? AbortSignal.any([stop, timeout]) : timeout;
  }
}
