/** When chats whose turn met a model outage run again. */
export interface OutageRetryOptions {
  /** Queues a turn for the chat (its messages are still past its cursor). */
  enqueue: (chatId: string) => void;
  /** First wait after an outage; doubled per outage in a row, up to `maxDelayMs`. */
  firstDelayMs: number;
  maxDelayMs: number;
}

/**
 * Chats left waiting by a model outage: each runs again after a growing delay, and all of them at
 * once as soon as any chat's turn gets an answer from the model (the outage is over). A restart
 * needs none of this: recovery queues every chat with unanswered messages.
 */
export class OutageRetry {
  readonly #o: OutageRetryOptions;
  readonly #waiting = new Map<string, { outages: number; timer: NodeJS.Timeout | null }>();

  constructor(options: OutageRetryOptions) {
    this.#o = options;
  }

  /** The chat's turn gave up on the model: run it again later. */
  outage(chatId: string): void {
    const entry = this.#waiting.get(chatId) ?? { outages: 0, timer: null };
    if (entry.timer) clearTimeout(entry.timer);
    entry.outages += 1;
    const delay = Math.min(this.#o.maxDelayMs, this.#o.firstDelayMs * 2 ** (entry.outages - 1));
    entry.timer = setTimeout(() => {
      entry.timer = null;
      this.#o.enqueue(chatId);
    }, delay);
    this.#waiting.set(chatId, entry);
  }

  /** The model answered a turn: every waiting chat runs now. */
  answered(): void {
    for (const [chatId, entry] of this.#waiting) {
      if (entry.timer) clearTimeout(entry.timer);
      this.#o.enqueue(chatId);
    }
    this.#waiting.clear();
  }

  /** Chats waiting for the model, for status. */
  get waiting(): string[] {
    return [...this.#waiting.keys()];
  }

  stop(): void {
    for (const entry of this.#waiting.values()) if (entry.timer) clearTimeout(entry.timer);
    this.#waiting.clear();
  }
}
