import { describe, expect, it } from "vitest";
import { ConversationQueue } from "./queue.js";

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe("ConversationQueue", () => {
  it("runs at most maxConcurrent turns at once overall", async () => {
    let running = 0;
    let peak = 0;
    const gates = new Map<string, ReturnType<typeof deferred>>();
    const q = new ConversationQueue({
      maxConcurrent: 2,
      onError: () => {},
      run: async (chatId) => {
        running++;
        peak = Math.max(peak, running);
        const g = deferred();
        gates.set(chatId, g);
        await g.promise;
        running--;
      },
    });
    for (const c of ["a", "b", "c", "d"]) q.enqueue(c);
    expect(q.active).toBe(2);
    expect(q.pending).toBe(2);
    for (const c of ["a", "b", "c", "d"]) {
      await new Promise((r) => setTimeout(r, 1));
      gates.get(c)?.resolve();
    }
    await q.idle();
    expect(peak).toBe(2);
  });

  it("runs one turn at a time per chat and batches arrivals into one follow-up turn", async () => {
    const log: string[] = [];
    const first = deferred();
    let calls = 0;
    const q = new ConversationQueue({
      maxConcurrent: 5,
      onError: () => {},
      run: async (chatId) => {
        calls++;
        log.push(`start ${chatId}#${calls}`);
        if (calls === 1) await first.promise;
        log.push(`end ${chatId}#${calls}`);
      },
    });
    q.enqueue("a");
    q.enqueue("a");
    q.enqueue("a");
    q.enqueue("a");
    expect(q.active).toBe(1);
    first.resolve();
    await q.idle();
    expect(log).toEqual(["start a#1", "end a#1", "start a#2", "end a#2"]);
  });

  it("keeps per-chat order while other chats run concurrently", async () => {
    const order: string[] = [];
    const slow = deferred();
    const q = new ConversationQueue({
      maxConcurrent: 5,
      onError: () => {},
      run: async (chatId) => {
        order.push(`start ${chatId}`);
        if (chatId === "slow") await slow.promise;
        order.push(`end ${chatId}`);
      },
    });
    q.enqueue("slow");
    q.enqueue("fast");
    await new Promise((r) => setTimeout(r, 5));
    expect(order).toEqual(["start slow", "start fast", "end fast"]);
    slow.resolve();
    await q.idle();
    expect(order.at(-1)).toBe("end slow");
  });

  it("reports a failing turn and goes on with the next", async () => {
    const errors: string[] = [];
    const done: string[] = [];
    const q = new ConversationQueue({
      maxConcurrent: 1,
      onError: (chatId, err) => errors.push(`${chatId}: ${(err as Error).message}`),
      run: async (chatId) => {
        if (chatId === "bad") throw new Error("boom");
        done.push(chatId);
      },
    });
    q.enqueue("bad");
    q.enqueue("good");
    await q.idle();
    expect(errors).toEqual(["bad: boom"]);
    expect(done).toEqual(["good"]);
  });

  it("starts nothing after close", async () => {
    let calls = 0;
    const q = new ConversationQueue({ maxConcurrent: 1, onError: () => {}, run: async () => void calls++ });
    q.close();
    q.enqueue("a");
    await q.idle();
    expect(calls).toBe(0);
  });
});
