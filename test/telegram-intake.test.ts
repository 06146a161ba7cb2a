import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ChannelRegistry } from "../src/channels/registry.js";
import { silentLogger } from "../src/log.js";
import { Pipeline } from "../src/pipeline/pipeline.js";
import { Store } from "../src/store/index.js";
import { makeChat } from "./doubles/chat.js";
import { InProcessRuntime } from "./doubles/in-process-runtime.js";
import type { TgUpdate } from "./doubles/telegram-bot-api.js";
import { TelegramFixture, waitFor } from "./telegram/harness.js";

const A = 4101;
const B = 4102;
const command = (text: string) => [{ type: "bot_command", offset: 0, length: text.length }];

let cleanup: () => Promise<void> = async () => {};
afterEach(async () => {
  await cleanup();
});

/** The real pipeline and store behind a Telegram adapter polling the Bot API double. */
async function setup() {
  const dir = mkdtempSync(path.join(tmpdir(), "nestbox-tg-intake-"));
  const store = Store.open(dir);
  store.chats.insert(makeChat({ chatId: `tg:${A}`, channel: "telegram", name: "A", folder: "a" }));
  const fx = await TelegramFixture.create();
  const adapter = fx.adapter();
  const pipeline = new Pipeline({
    store,
    registry: new ChannelRegistry([adapter], silentLogger()),
    runtime: new InProcessRuntime(async () => "unused"),
    log: silentLogger(),
    maxConcurrentAgents: 1,
    limits: { maxMessages: 50, maxChars: 10_000, timezone: "UTC" },
    delivery: { retryDelayMs: 10, maxRetryDelayMs: 20 },
  });
  // The invariant, checked at the moment Telegram forgets an update: it is in the store.
  const violations: string[] = [];
  const inStore = (u: TgUpdate): boolean => {
    const chatId = `tg:${u.message?.chat.id}`;
    if (u.message?.text?.startsWith("/chatid")) return store.outbox.list(chatId).length > 0;
    return store.messages.since(chatId, 0).some((m) => m.messageId === String(u.message?.message_id));
  };
  fx.api.onConfirm = (_offset, confirmed) => {
    for (const u of confirmed) if (!inStore(u)) violations.push(`${u.update_id}:${u.message?.text}`);
  };
  cleanup = async () => {
    await pipeline.stop();
    await fx.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  };
  return { store, fx, pipeline, violations };
}

describe("Telegram intake: stored before confirmed", () => {
  it("stores a chat's later messages while its /chatid answer is held, and confirms only stored updates", async () => {
    const { store, fx, pipeline, violations } = await setup();
    await pipeline.start();
    fx.api.holdNext("sendMessage", 3000);
    fx.api.pushMessage({ chatId: A, text: "/chatid", entities: command("/chatid") });
    await waitFor(() => fx.api.callsOf("sendMessage").length === 1, "the held /chatid answer");
    for (let i = 1; i <= 3; i++) fx.api.pushMessage({ chatId: A, text: `A${i}` });
    fx.api.pushMessage({ chatId: B, text: "B1" });

    // Stored (and confirmed) while the answer is still held by Telegram.
    await waitFor(() => store.messages.count() === 4, "four messages stored");
    await waitFor(() => fx.api.confirmedOffset === 6, "all five updates confirmed");
    expect(violations).toEqual([]);
    expect(fx.api.sent(A)).toEqual([]);
    expect(store.messages.since(`tg:${A}`, 0).map((m) => m.text)).toEqual(["A1", "A2", "A3"]);
    expect(store.outbox.list(`tg:${A}`)).toHaveLength(1);
    expect(violations).toEqual([]);
    await waitFor(() => fx.api.sent(A).length === 1, "the answer once Telegram lets it through");
    expect(fx.api.sent(A)[0]).toContain(`tg:${A}`);
  });

  it("sends the /chatid answer through the outbox, retried after Telegram refused it", async () => {
    const { fx, pipeline, violations } = await setup();
    await pipeline.start();
    fx.api.failNext("sendMessage", { error_code: 500, description: "Internal Server Error" });
    fx.api.pushMessage({ chatId: B, text: "/chatid", entities: command("/chatid") });
    await waitFor(() => fx.api.sent(B).length === 1, "the answer, second attempt");
    expect(fx.api.sent(B)[0]).toContain(`tg:${B}`);
    expect(fx.api.callsOf("sendMessage").length).toBeGreaterThanOrEqual(2);
    expect(violations).toEqual([]);
  });

  it("leaves an update unconfirmed while the store refuses it, and stores it once the store works", async () => {
    const { store, fx, pipeline, violations } = await setup();
    await pipeline.start();
    const insert = store.messages.insert.bind(store.messages);
    let refuse = 2;
    store.messages.insert = (...args) => {
      if (refuse-- > 0) throw new Error("SQLITE_FULL: database or disk is full");
      return insert(...args);
    };
    fx.api.pushMessage({ chatId: A, text: "kept" });
    await waitFor(() => store.messages.count() === 1, "stored on the third attempt");
    await waitFor(() => fx.api.confirmedOffset === 2, "confirmed after storing");
    expect(fx.api.handedOut.get(1)).toBe(3);
    expect(violations).toEqual([]);
  });
});
