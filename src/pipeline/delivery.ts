import { backoffDelay } from "../backoff.js";
import type { ChannelRegistry } from "../channels/registry.js";
import { ChannelNetworkError, describeError } from "../errors.js";
import type { Logger } from "../log.js";
import type { Store } from "../store/index.js";

/** Options for {@link DeliveryWorker}. */
export interface DeliveryOptions {
  store: Store;
  registry: ChannelRegistry;
  log: Logger;
  now?: () => number;
  /** Attempts before a row the platform keeps refusing is marked failed. */
  maxAttempts?: number;
  /** First retry delay after a network failure; doubles per failure up to `maxRetryDelayMs`. */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
}

/**
 * Sends pending outbox rows through their channel, in order per chat, and marks them delivered.
 * Woken by `kick()` (a new reply, a channel reconnecting, startup); a network failure schedules
 * one retry timer with backoff, so waiting rows go out once the channel is back.
 */
export class DeliveryWorker {
  readonly #o: Required<Omit<DeliveryOptions, "store" | "registry" | "log">> & DeliveryOptions;
  #flushing: Promise<void> | null = null;
  #again = false;
  #retryTimer: NodeJS.Timeout | null = null;
  #failures = 0;
  #stopped = false;
  /** Chats whose pending replies no channel routes, already logged once (until they route again). */
  readonly #unroutable = new Set<string>();

  constructor(options: DeliveryOptions) {
    this.#o = { now: Date.now, maxAttempts: 5, retryDelayMs: 500, maxRetryDelayMs: 30_000, ...options };
  }

  /** Asks for a delivery pass; passes never overlap, requests during one cause one more. */
  kick(): void {
    if (this.#stopped) return;
    if (this.#flushing) {
      this.#again = true;
      return;
    }
    this.#flushing = this.#loop().finally(() => {
      this.#flushing = null;
    });
  }

  /** Resolves when the current pass (and any it owes) has finished. */
  async idle(): Promise<void> {
    while (this.#flushing) await this.#flushing;
  }

  stop(): void {
    this.#stopped = true;
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
  }

  async #loop(): Promise<void> {
    do {
      this.#again = false;
      await this.#pass();
    } while (this.#again && !this.#stopped);
  }

  async #pass(): Promise<void> {
    const { store, registry, log } = this.#o;
    const blocked = new Set<string>();
    let networkFailure = false;
    for (const row of store.outbox.pending()) {
      if (this.#stopped) return;
      if (blocked.has(row.chatId)) continue;
      if (!registry.routes(row.chatId)) {
        blocked.add(row.chatId);
        if (!this.#unroutable.has(row.chatId)) {
          this.#unroutable.add(row.chatId);
          log.warn(
            { chatId: row.chatId, outboxId: row.id },
            "reply kept pending: no running channel owns this chat id (is its channel configured?)",
          );
        }
        continue;
      }
      this.#unroutable.delete(row.chatId);
      try {
        await registry.send(row.chatId, row.text);
        store.outbox.markDelivered(row.id, this.#o.now());
        this.#failures = 0;
      } catch (err) {
        blocked.add(row.chatId);
        const network = err instanceof ChannelNetworkError;
        const final = !network && row.attempts + 1 >= this.#o.maxAttempts;
        store.outbox.markAttemptFailed(row.id, describeError(err), final);
        if (network) networkFailure = true;
        else if (!final) networkFailure = true; // a refusal may be transient (rate limit): retry later too
        log.warn({ err, chatId: row.chatId, outboxId: row.id, final }, "reply delivery failed");
      }
    }
    if (networkFailure) this.#scheduleRetry();
  }

  #scheduleRetry(): void {
    if (this.#retryTimer || this.#stopped) return;
    const delay = backoffDelay(this.#failures, {
      baseMs: this.#o.retryDelayMs,
      maxMs: this.#o.maxRetryDelayMs,
    });
    this.#failures++;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      this.kick();
    }, delay);
    this.#retryTimer.unref();
  }
}
