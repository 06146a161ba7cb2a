/** Runs one turn for a chat; the queue never calls it twice at once for the same chat. */
export type TurnRunner = (chatId: string) => Promise<void>;

/**
 * One turn at a time per chat, at most `maxConcurrent` turns at once overall. Work that arrives
 * while a chat's turn runs is coalesced into one follow-up turn. Event-driven: no polling.
 */
export class ConversationQueue {
  readonly #maxConcurrent: number;
  readonly #run: TurnRunner;
  readonly #onError: (chatId: string, err: unknown) => void;
  /** Chats whose turn is running now. */
  readonly #running = new Set<string>();
  /** Chats that need a (further) turn, in arrival order. */
  readonly #waiting: string[] = [];
  readonly #waitingSet = new Set<string>();
  #idleWaiters: (() => void)[] = [];
  #closed = false;

  constructor(options: {
    maxConcurrent: number;
    run: TurnRunner;
    onError: (chatId: string, err: unknown) => void;
  }) {
    this.#maxConcurrent = options.maxConcurrent;
    this.#run = options.run;
    this.#onError = options.onError;
  }

  /** Asks for a turn in `chatId`: now if allowed, else after the chat's running turn or a free slot. */
  enqueue(chatId: string): void {
    if (this.#closed) return;
    if (!this.#waitingSet.has(chatId)) {
      this.#waitingSet.add(chatId);
      this.#waiting.push(chatId);
    }
    this.#pump();
  }

  /** Turns running now. */
  get active(): number {
    return this.#running.size;
  }

  /** Chats waiting for a turn. */
  get pending(): number {
    return this.#waiting.length;
  }

  /** Resolves once nothing runs and nothing waits. */
  idle(): Promise<void> {
    if (this.#running.size === 0 && this.#waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Stops starting new turns; running ones finish. */
  close(): void {
    this.#closed = true;
    this.#waiting.length = 0;
    this.#waitingSet.clear();
    this.#checkIdle();
  }

  #pump(): void {
    for (let i = 0; i < this.#waiting.length && this.#running.size < this.#maxConcurrent; ) {
      const chatId = this.#waiting[i] as string;
      if (this.#running.has(chatId)) {
        i++;
        continue;
      }
      this.#waiting.splice(i, 1);
      this.#waitingSet.delete(chatId);
      this.#start(chatId);
    }
  }

  #start(chatId: string): void {
    this.#running.add(chatId);
    void this.#run(chatId)
      .catch((err: unknown) => this.#onError(chatId, err))
      .finally(() => {
        this.#running.delete(chatId);
        if (!this.#closed) this.#pump();
        this.#checkIdle();
      });
  }

  #checkIdle(): void {
    if (this.#running.size === 0 && this.#waiting.length === 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const w of waiters) w();
    }
  }
}
