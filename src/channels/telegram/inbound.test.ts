import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TelegramFixture, waitFor } from "../../../test/telegram/harness.js";
import type { InboundMessage } from "../channel.js";

const ALICE = { id: 1001, is_bot: false, first_name: "Alice", last_name: "Liddell", username: "alice" };
const BOB = { id: 1002, is_bot: false, first_name: "Bob", username: "bobby" };

let fx: TelegramFixture;
beforeEach(async () => {
  fx = await TelegramFixture.create();
});
afterEach(async () => {
  await fx.close();
});

describe("telegram inbound", () => {
  it("long-polls with offsets: each update is handed out once and confirmed", async () => {
    const { received } = await fx.started();
    fx.api.pushMessage({ chatId: 10, text: "one" });
    await waitFor(() => received.length === 1, "first message");
    fx.api.pushMessage({ chatId: 10, text: "two" });
    fx.api.pushMessage({ chatId: 10, text: "three" });
    await waitFor(() => received.length === 3, "three messages");
    expect(received.map((m) => m.text)).toEqual(["one", "two", "three"]);
    await waitFor(() => fx.api.confirmedOffset === 4, "offset 4 confirmed");
    expect([...fx.api.handedOut.values()]).toEqual([1, 1, 1]);
  });

  it("maps a private chat message", async () => {
    const { received } = await fx.started();
    const update = fx.api.pushMessage({ chatId: 1001, chatType: "private", text: "hi there", from: ALICE });
    const m = await waitFor(() => received[0], "message");
    expect(m).toEqual({
      chatId: "tg:1001",
      messageId: String(update.message?.message_id),
      senderId: "1001",
      senderName: "Alice Liddell",
      text: "hi there",
      timestamp: (update.message?.date ?? 0) * 1000,
      fromMe: false,
      mentionsAssistant: false,
      chatName: "Alice Liddell",
      isGroup: false,
    } satisfies InboundMessage);
  });

  it("maps group and supergroup messages with negative ids and the title", async () => {
    const { received } = await fx.started();
    fx.api.pushMessage({ chatId: -4001, chatType: "group", title: "Family", text: "dinner?", from: BOB });
    fx.api.pushMessage({
      chatId: -1001234567890,
      chatType: "supergroup",
      title: "Team",
      text: "standup",
      from: ALICE,
    });
    await waitFor(() => received.length === 2, "two messages");
    const byChat = Object.fromEntries(received.map((m) => [m.chatId, m]));
    expect(byChat["tg:-4001"]).toMatchObject({
      chatName: "Family",
      isGroup: true,
      senderName: "Bob",
      senderId: "1002",
    });
    expect(byChat["tg:-1001234567890"]).toMatchObject({ chatName: "Team", isGroup: true, text: "standup" });
  });

  it("takes captions as text and skips messages without any text", async () => {
    const { received } = await fx.started();
    fx.api.pushMessage({ chatId: 10, caption: "look at this" });
    fx.api.pushMessage({ chatId: 10 });
    fx.api.pushMessage({ chatId: 10, text: "after" });
    await waitFor(() => received.length === 2, "two messages");
    expect(received.map((m) => m.text)).toEqual(["look at this", "after"]);
  });

  it("marks a native @mention of the bot, case-insensitively, but not of someone else", async () => {
    const { received } = await fx.started();
    const mention = (text: string, at: string) => [
      { type: "mention", offset: text.indexOf(at), length: at.length },
    ];
    const t1 = "hey @Nestbox_Test_Bot what's up";
    const t2 = "ask @someone_else";
    fx.api.pushMessage({ chatId: -100, text: t1, entities: mention(t1, "@Nestbox_Test_Bot") });
    fx.api.pushMessage({ chatId: -100, text: t2, entities: mention(t2, "@someone_else") });
    await waitFor(() => received.length === 2, "two messages");
    expect(received.map((m) => [m.text, m.mentionsAssistant])).toEqual([
      [t1, true],
      [t2, false],
    ]);
  });

  it("marks a reply to one of the bot's messages", async () => {
    const { adapter, received } = await fx.started();
    await adapter.send("tg:-100", "I am the bot");
    const botMessage = fx.api.sentMessages(-100)[0];
    fx.api.pushMessage({ chatId: -100, text: "replying to you", replyTo: botMessage });
    const userMessage = {
      message_id: 1,
      date: 1,
      chat: { id: -100, type: "supergroup" },
      from: BOB,
      text: "x",
    };
    fx.api.pushMessage({ chatId: -100, text: "replying to Bob", replyTo: userMessage });
    await waitFor(() => received.length === 2, "two messages");
    expect(received.map((m) => m.mentionsAssistant)).toEqual([true, false]);
  });

  it("passes a trigger word through as plain text", async () => {
    const { received } = await fx.started();
    fx.api.pushMessage({ chatId: -100, text: "@Andy what is the weather" });
    const m = await waitFor(() => received[0], "message");
    expect(m.text).toBe("@Andy what is the weather");
    expect(m.mentionsAssistant).toBe(false);
  });

  it("ignores the bot's own messages", async () => {
    const { received } = await fx.started();
    const self = { id: fx.api.bot.id, is_bot: true, first_name: "Nestbox", username: fx.api.bot.username };
    fx.api.pushMessage({ chatId: -100, text: "echo", from: self });
    fx.api.pushMessage({ chatId: -100, text: "human" });
    await waitFor(() => received.length === 1, "one message");
    await waitFor(() => fx.api.confirmedOffset === 3, "both confirmed");
    expect(received.map((m) => m.text)).toEqual(["human"]);
  });

  it("answers /chatid itself with the chat id and the register command, through the answer handler", async () => {
    const adapter = fx.adapter();
    const received: InboundMessage[] = [];
    adapter.onInbound(async (m) => {
      received.push(m);
    });
    // Stands in for the outbox: the answer is sent after the handler returned.
    adapter.onCommandAnswer(async (a) => {
      setImmediate(() => void adapter.send(a.chatId, a.text));
    });
    await adapter.start();
    const command = (text: string) => [
      { type: "bot_command", offset: 0, length: text.split(" ")[0]?.length ?? 0 },
    ];
    fx.api.pushMessage({
      chatId: -100123,
      chatType: "supergroup",
      title: 'Café "Team" Chat',
      text: "/chatid",
      entities: command("/chatid"),
    });
    const t = "/chatid@nestbox_test_bot";
    fx.api.pushMessage({ chatId: 555, chatType: "private", from: BOB, text: t, entities: command(t) });
    await waitFor(() => fx.api.sent(-100123).length === 1 && fx.api.sent(555).length === 1, "two answers");
    const group = fx.api.sent(-100123)[0] ?? "";
    expect(group).toContain("tg:-100123");
    expect(group).toContain(
      'npm run setup -- register --channel telegram --jid tg:-100123 --name "Café \\"Team\\" Chat" --folder cafe-team-chat',
    );
    const priv = fx.api.sent(555)[0] ?? "";
    expect(priv).toContain(
      'npm run setup -- register --channel telegram --jid tg:555 --name "Bob" --folder bob',
    );
    expect(received).toEqual([]);
  });

  it("a /chatid answer names the data folder when the host does not use the default one", async () => {
    const adapter = fx.adapter({ dataDir: "/srv/nest box/data" });
    adapter.onInbound(async () => {});
    adapter.onCommandAnswer(async (a) => {
      setImmediate(() => void adapter.send(a.chatId, a.text));
    });
    await adapter.start();
    fx.api.pushMessage({
      chatId: 777,
      chatType: "private",
      from: BOB,
      text: "/chatid",
      entities: [{ type: "bot_command", offset: 0, length: 7 }],
    });
    await waitFor(() => fx.api.sent(777).length === 1, "the answer");
    expect(fx.api.sent(777)[0]).toContain(
      'NESTBOX_DATA_DIR="/srv/nest box/data" npm run setup -- register --channel telegram --jid tg:777 --name "Bob" --folder bob',
    );
  });

  it("stores updates in order, each before its offset is confirmed", async () => {
    const adapter = fx.adapter();
    const seen: string[] = [];
    const confirmedAtStore: number[] = [];
    adapter.onInbound(async (m) => {
      confirmedAtStore.push(fx.api.confirmedOffset);
      seen.push(m.text);
    });
    await adapter.start();
    fx.api.pushMessage({ chatId: 1, text: "A1" });
    fx.api.pushMessage({ chatId: 1, text: "A2" });
    fx.api.pushMessage({ chatId: 2, text: "B1" });
    await waitFor(() => fx.api.confirmedOffset === 4, "all three confirmed");
    expect(seen).toEqual(["A1", "A2", "B1"]);
    // Update n was stored while Telegram still held it (offset at most n).
    expect(confirmedAtStore.map((offset, i) => offset <= i + 1)).toEqual([true, true, true]);
  });

  it("logs a failing handler once and goes on with the next update", async () => {
    const adapter = fx.adapter();
    const seen: string[] = [];
    adapter.onInbound(async (m) => {
      if (m.text === "bad") throw new Error("handler exploded");
      seen.push(m.text);
    });
    await adapter.start();
    fx.api.pushMessage({ chatId: 7, text: "bad" });
    fx.api.pushMessage({ chatId: 7, text: "good" });
    await waitFor(() => seen.includes("good"), "the next message");
    const errors = fx.logs.lines.filter((l) => l.msg === "handling a Telegram message failed");
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ chatId: "tg:7", reason: "handler exploded" });
  });
});
