/**
 * Runs tasks in order per key and concurrently across keys: one chat's slow handler never holds up
 * another chat. Tasks must not reject (callers route their errors first).
 */
export class ChatQueue {
  readonly #tails = new Map<string, Promise<void>>();

  /** Appends `task` to the key's chain. */
  push(key: string, task: () => Promise<void>): void {
    // The catch only keeps the chain alive; callers route task errors before they get here.
    const tail = (this.#tails.get(key) ?? Promise.resolve()).then(task).catch(() => undefined);
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
  }

  /** Resolves once every task queued so far (and any queued while waiting) has finished. */
  async drain(): Promise<void> {
    while (this.#tails.size > 0) await Promise.allSettled([...this.#tails.values()]);
  }
}
