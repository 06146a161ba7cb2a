import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeChat } from "../../test/doubles/chat.js";
import type { InboundMessage } from "../channels/channel.js";
import { openDb } from "./db.js";
import { Store } from "./index.js";
import { migrations } from "./migrations.js";

let dir: string;
let store: Store;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "nestbox-store-"));
  store = Store.open(dir);
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const chat = makeChat({ allowedSenders: ["1", "2"], limits: { memoryMb: 512 }, createdAt: 1000 });
const msg = (id: string, text = "hi"): InboundMessage => ({
  chatId: "tg:-100",
  messageId: id,
  senderId: "1",
  senderName: "Alice",
  text,
  timestamp: 5,
  fromMe: false,
  mentionsAssistant: false,
});

describe("Store", () => {
  it("migrates a new file to the latest schema in WAL mode", () => {
    expect(store.db.pragma("user_version", { simple: true })).toBe(migrations.length);
    expect(store.db.pragma("journal_mode", { simple: true })).toBe("wal");
  });

  it("refuses a database from a newer nestbox", () => {
    store.close();
    const raw = new Database(path.join(dir, "nestbox.db"));
    raw.pragma(`user_version = ${migrations.length + 1}`);
    raw.close();
    expect(() => Store.open(dir)).toThrow(/newer than this nestbox/);
  });

  it("round-trips a registered chat in camelCase and refuses duplicates", () => {
    store.chats.insert(chat);
    expect(store.chats.get("tg:-100")).toEqual(chat);
    expect(() => store.chats.insert(chat)).toThrow(/already registered/);
    expect(() => store.chats.insert({ ...chat, chatId: "tg:-101" })).toThrow(/already used/);
  });

  it("stores a message once per channel, chat and message id", () => {
    const a = store.messages.insert("telegram", msg("1"), true, 10);
    expect(a?.seq).toBeGreaterThan(0);
    expect(store.messages.insert("telegram", msg("1", "edited"), true, 11)).toBeNull();
    expect(store.messages.insert("whatsapp", msg("1"), false, 12)).not.toBeNull();
    expect(store.messages.count("tg:-100")).toBe(2);
    expect(store.messages.since("tg:-100", 0).map((m) => m.text)).toEqual(["hi", "hi"]);
  });

  it("writes the reply and advances the cursor in one transaction", () => {
    const m = store.messages.insert("telegram", msg("1"), true, 10);
    const turn = store.turns.start("tg:-100", 1, m?.seq ?? 0, 20);
    store.commitReply("tg:-100", turn, "hello", m?.seq ?? 0, 30);
    expect(store.turns.cursor("tg:-100")).toBe(m?.seq);
    expect(store.outbox.pending().map((r) => r.text)).toEqual(["hello"]);
  });

  it("rolls back the reply when the cursor update fails", () => {
    store.db.exec(
      "CREATE TRIGGER no_cursor BEFORE INSERT ON cursors BEGIN SELECT RAISE(ABORT, 'disk full'); END",
    );
    expect(() => store.commitReply("tg:-100", null, "hello", 5, 30)).toThrow(/disk full/);
    expect(store.outbox.list()).toEqual([]);
  });

  it("never moves the cursor backwards", () => {
    store.turns.advanceCursor("tg:-100", 10, 1);
    store.turns.advanceCursor("tg:-100", 3, 2);
    expect(store.turns.cursor("tg:-100")).toBe(10);
  });

  it("tracks outbox attempts until delivered or failed", () => {
    const id = store.outbox.add("tg:-100", null, "x", 1);
    store.outbox.markAttemptFailed(id, "network down", false);
    expect(store.outbox.get(id)).toMatchObject({ status: "pending", attempts: 1, lastError: "network down" });
    store.outbox.markDelivered(id, 5);
    expect(store.outbox.get(id)).toMatchObject({ status: "delivered", attempts: 2, deliveredAt: 5 });
    const other = store.outbox.add("tg:-100", null, "y", 1);
    store.outbox.markAttemptFailed(other, "chat not found", true);
    expect(store.outbox.pending()).toEqual([]);
  });

  it("marks a row sending before the call; an ambiguous outcome allows one resend, a second gives up", () => {
    const id = store.outbox.add("tg:-100", null, "x", 1);
    store.outbox.markSending(id, 2);
    expect(store.outbox.get(id)).toMatchObject({ status: "sending", sendingAt: 2 });
    expect(store.outbox.pending()).toEqual([]);
    expect(store.outbox.markMaybeSent(id, "reset")).toMatchObject({
      status: "pending",
      maybeSent: 1,
      resends: 0,
    });
    store.outbox.markSending(id, 3);
    expect(store.outbox.get(id)).toMatchObject({ resends: 1 });
    expect(store.outbox.recoverSending("host died")).toMatchObject([
      { id, status: "failed-maybe-sent", maybeSent: 2, resends: 1, lastError: "host died" },
    ]);
    expect(store.outbox.pendingChats()).toEqual([]);
  });

  it("migrates a version-1 outbox to the delivery states, keeping rows and ids", () => {
    const file = path.join(dir, "old.db");
    const old = new Database(file);
    old.exec(migrations[0] as string);
    old.pragma("user_version = 1");
    old
      .prepare(
        "INSERT INTO outbox (id, chat_id, text, status, attempts, created_at) VALUES (7, 'tg:1', 'a', 'pending', 2, 1)",
      )
      .run();
    old
      .prepare(
        "INSERT INTO outbox (id, chat_id, text, status, created_at, delivered_at) VALUES (8, 'tg:1', 'b', 'delivered', 1, 3)",
      )
      .run();
    old.close();
    const upgraded = new Store(openDb(file));
    expect(upgraded.outbox.list()).toMatchObject([
      { id: 7, status: "pending", attempts: 2, maybeSent: 0, resends: 0, sendingAt: null },
      { id: 8, status: "delivered", deliveredAt: 3 },
    ]);
    expect(upgraded.outbox.add("tg:1", null, "c", 4)).toBe(9);
    upgraded.close();
  });

  it("marks turns left running by a crash as interrupted", () => {
    store.turns.start("tg:-100", 1, 2, 1);
    expect(store.turns.interruptRunning(9)).toBe(1);
    expect(store.turns.list("tg:-100")[0]?.status).toBe("interrupted");
  });

  it("keeps one session id per chat and a stable install id", () => {
    store.sessions.set("tg:-100", "s1", 1);
    store.sessions.set("tg:-100", "s2", 2);
    expect(store.sessions.get("tg:-100")).toBe("s2");
    const id = store.meta.installId();
    expect(id).toMatch(/^[0-9a-f]{8}$/);
    expect(store.meta.installId()).toBe(id);
  });
});
