import { backoffDelay } from "../backoff.js";
import type { ChannelRegistry } from "../channels/registry.js";
import { ChannelMaybeSentError, ChannelNetworkError, describeError } from "../errors.js";
import type { Logger } from "../log.js";
import { MAX_MAYBE_SENT, MAX_MAYBE_SENT_SHOWN_ONCE, type OutboxRow, type Store } from "../store/index.js";

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

/** One chat's delivery: a single sender at a time, so the chat's order holds. */
interface Lane {
  running: Promise<void> | null;
  again: boolean;
  failures: number;
  timer: NodeJS.Timeout | null;
}

/** The idempotency key of an outbox row: the same for every attempt at it, unique across stores. */
export const outboxKey = (row: OutboxRow): string => `outbox:${row.id}:${row.createdAt}`;

/**
 * Sends pending outbox rows through their channel and marks them delivered, one lane per chat: a
 * chat's rows go out in order, and one chat's slow or failing sends never wait on another's. Woken by
 * `kick()` (a new reply, a channel reconnecting, startup); a failed lane retries on its own timer.
 * A row is marked "sending" before the call; an ambiguous outcome (maybe sent, or found "sending"
 * at startup) is resent at most once, or up to {@link MAX_MAYBE_SENT_SHOWN_ONCE} times through a
 * channel that shows a same-id resend once.
 */
export class DeliveryWorker {
  readonly #o: Required<Omit<DeliveryOptions, "store" | "registry" | "log">> & DeliveryOptions;
  readonly #lanes = new Map<string, Lane>();
  #stopped = false;
  #recovered = false;
  /** Chats whose pending replies no channel routes, already logged once (until they route again). */
  readonly #unroutable = new Set<string>();

  constructor(options: DeliveryOptions) {
    this.#o = { now: Date.now, maxAttempts: 5, retryDelayMs: 500, maxRetryDelayMs: 30_000, ...options };
  }

  /** Asks every chat with pending rows for a delivery pass; a lane busy sending owes one more. */
  kick(): void {
    if (this.#stopped) return;
    if (!this.#recovered) this.#recover();
    for (const chatId of this.#o.store.outbox.pendingChats()) this.#kickLane(chatId);
  }

  /** Resolves when no lane is sending (timers waiting to retry do not count). */
  async idle(): Promise<void> {
    for (;;) {
      const running = [...this.#lanes.values()].flatMap((l) => (l.running ? [l.running] : []));
      if (running.length === 0) return;
      await Promise.all(running);
    }
  }

  stop(): void {
    this.#stopped = true;
    for (const lane of this.#lanes.values()) {
      if (lane.timer) clearTimeout(lane.timer);
      lane.timer = null;
    }
  }

  /** Rows a previous run left "sending" are ambiguous: they get the at-most-one-resend rule. */
  #recover(): void {
    this.#recovered = true;
    for (const row of this.#o.store.outbox.recoverSending(
      "the host stopped while this reply was being sent",
      (chatId) => this.#maybeSentLimit(chatId),
    )) {
      this.#logAmbiguous(row, "found sending at startup");
    }
  }

  #kickLane(chatId: string): void {
    let lane = this.#lanes.get(chatId);
    if (!lane) {
      lane = { running: null, again: false, failures: 0, timer: null };
      this.#lanes.set(chatId, lane);
    }
    if (lane.running) {
      lane.again = true;
      return;
    }
    const l = lane;
    l.running = this.#loop(chatId, l).finally(() => {
      l.running = null;
    });
  }

  async #loop(chatId: string, lane: Lane): Promise<void> {
    do {
      lane.again = false;
      await this.#drain(chatId, lane);
    } while (lane.again && !this.#stopped);
  }

  /** Sends the chat's pending rows in order; stops at the first failure and schedules a retry. */
  async #drain(chatId: string, lane: Lane): Promise<void> {
    const { store, registry, log } = this.#o;
    if (!registry.routes(chatId)) {
      if (!this.#unroutable.has(chatId)) {
        this.#unroutable.add(chatId);
        log.warn(
          { chatId, outboxId: store.outbox.pendingFor(chatId)[0]?.id },
          "reply kept pending: no running channel owns this chat id (is its channel configured?)",
        );
      }
      return;
    }
    this.#unroutable.delete(chatId);
    for (const row of store.outbox.pendingFor(chatId)) {
      if (this.#stopped) return;
      store.outbox.markSending(row.id, this.#o.now());
      if (row.maybeSent > 0)
        log.warn({ chatId, outboxId: row.id }, "resending a reply that may have arrived");
      try {
        await registry.send(chatId, row.text, {
          idempotencyKey: outboxKey(row),
          skipChunks: row.sentChunks,
          onChunkSent: (n) => store.outbox.markChunksSent(row.id, n),
        });
        store.outbox.markDelivered(row.id, this.#o.now());
        lane.failures = 0;
      } catch (err) {
        if (this.#failed(row, err)) this.#scheduleRetry(chatId, lane);
        return;
      }
    }
  }

  /** Records a failed send; returns whether the lane should try again later. */
  #failed(row: OutboxRow, err: unknown): boolean {
    const { store, log } = this.#o;
    if (err instanceof ChannelMaybeSentError) {
      const after = store.outbox.markMaybeSent(row.id, describeError(err), this.#maybeSentLimit(row.chatId));
      if (after) this.#logAmbiguous(after, describeError(err));
      return true;
    }
    const network = err instanceof ChannelNetworkError;
    const final = !network && row.attempts + 1 >= this.#o.maxAttempts;
    store.outbox.markAttemptFailed(row.id, describeError(err), final);
    log.warn({ err, chatId: row.chatId, outboxId: row.id, final }, "reply delivery failed");
    // A refusal may be transient too (rate limit): retry later unless it was the last attempt.
    return !final;
  }

  #maybeSentLimit(chatId: string): number {
    return this.#o.registry.resendsShowOnce(chatId) ? MAX_MAYBE_SENT_SHOWN_ONCE : MAX_MAYBE_SENT;
  }

  #logAmbiguous(row: OutboxRow, reason: string): void {
    const fields = { chatId: row.chatId, outboxId: row.id, maybeSent: row.maybeSent, reason };
    const showOnce = this.#o.registry.resendsShowOnce(row.chatId);
    if (row.status === "failed-maybe-sent") {
      this.#o.log.error(
        fields,
        showOnce
          ? `reply may have been sent ${row.maybeSent} times already (same id each time): not sending it again`
          : "reply may have been sent twice already: not sending it again",
      );
    } else {
      this.#o.log.warn(
        fields,
        showOnce
          ? "reply may have been sent: resending it with the same id (WhatsApp shows it once)"
          : "reply may have been sent: resending it once",
      );
    }
  }

  #scheduleRetry(chatId: string, lane: Lane): void {
    if (lane.timer || this.#stopped) return;
    const delay = backoffDelay(lane.failures, {
      baseMs: this.#o.retryDelayMs,
      maxMs: this.#o.maxRetryDelayMs,
    });
    lane.failures++;
    lane.timer = setTimeout(() => {
      lane.timer = null;
      this.#kickLane(chatId);
    }, delay);
    lane.timer.unref();
  }
}
