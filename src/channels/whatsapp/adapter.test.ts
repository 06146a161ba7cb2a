import { afterEach, describe, expect, it } from "vitest";
import { OWNER_LID, OWNER_PN, waMessage } from "../../../test/whatsapp/fake-socket.js";
import { type AdapterRig, adapterRig, settle, until } from "../../../test/whatsapp/harness.js";
import { ChannelError, ChannelMaybeSentError, ChannelNetworkError } from "../../errors.js";
import { whatsappMessageId } from "./outbound.js";

const DM = "4917612345678@s.whatsapp.net";
const GROUP = "120363012345678901@g.us";
const LID = "123456789012345@lid";

let rig: AdapterRig;
afterEach(async () => {
  await rig.close();
});

/** Delivers messages through the fake socket and waits until the adapter has handled them all. */
async function deliver(...messages: Parameters<typeof waMessage>[]): Promise<void> {
  const before = rig.inbound.length;
  rig.world.current.deliver(messages.map((m) => waMessage(...m)));
  await settle();
  await until(() => rig.inbound.length >= before, "inbound handling");
}

describe("WhatsApp inbound", () => {
  it("maps a direct message", async () => {
    rig = await adapterRig();
    await rig.startOpen();
    await deliver([
      DM,
      { conversation: "hello there" },
      { id: "ABC1" },
      { pushName: "Alice", messageTimestamp: 1_700_000_123 },
    ]);
    expect(rig.inbound).toEqual([
      {
        chatId: DM,
        messageId: "ABC1",
        senderId: DM,
        senderName: "Alice",
        text: "hello there",
        timestamp: 1_700_000_123_000,
        fromMe: false,
        mentionsAssistant: false,
        isGroup: false,
      },
    ]);
  });

  it("maps a group message with its sender and the group's name (fetched once, kept fresh by groups.update)", async () => {
    rig = await adapterRig();
    const sock = await rig.startOpen();
    rig.world.groups.set(GROUP, "Family");
    await deliver([GROUP, { conversation: "hi all" }, { participant: DM }, { pushName: "Bob" }]);
    await deliver([GROUP, { extendedTextMessage: { text: "again" } }, { participant: DM }]);
    sock.ev.emit("groups.update", [{ id: GROUP, subject: "Family 2025" }]);
    await deliver([GROUP, { conversation: "renamed" }, { participant: DM }]);
    expect(rig.inbound.map((m) => [m.chatId, m.senderId, m.chatName, m.isGroup, m.text])).toEqual([
      [GROUP, DM, "Family", true, "hi all"],
      [GROUP, DM, "Family", true, "again"],
      [GROUP, DM, "Family 2025", true, "renamed"],
    ]);
    expect(rig.inbound[0]?.senderName).toBe("Bob");
    expect(rig.world.metadataCalls).toEqual([GROUP]);
  });

  it("stores a group message without its name when fetching the name hangs, instead of holding it", async () => {
    rig = await adapterRig();
    await rig.startOpen();
    rig.world.holdMetadata = true;
    rig.world.current.deliver([waMessage(GROUP, { conversation: "first" }, { participant: DM })]);
    await settle();
    expect(rig.inbound).toEqual([]);
    // The bounded wait for the name ends; the message goes on to be stored, with no name.
    const wait = [...rig.timers.pending.entries()].find(([, t]) => t.ms === 1500);
    expect(wait).toBeDefined();
    wait?.[1].fn();
    await until(() => rig.inbound.length === 1, "the message handed on");
    expect(rig.inbound[0]?.text).toBe("first");
    expect(rig.inbound[0]?.chatName).toBeUndefined();
  });

  it("maps LID chats and senders to phone-number JIDs when baileys gives the alternate", async () => {
    rig = await adapterRig();
    await rig.startOpen();
    rig.world.groups.set(GROUP, "Team");
    await deliver([LID, { conversation: "via lid" }, { remoteJidAlt: DM, addressingMode: "lid" }]);
    await deliver([GROUP, { conversation: "lid in group" }, { participant: LID, participantAlt: DM }]);
    await deliver(["555000111222333@lid", { conversation: "no alternate" }]);
    expect(rig.inbound.map((m) => [m.chatId, m.senderId])).toEqual([
      [DM, DM],
      [GROUP, DM],
      ["555000111222333@lid", "555000111222333@lid"],
    ]);
  });

  it("reads image and video captions and skips messages without text", async () => {
    rig = await adapterRig();
    await rig.startOpen();
    await deliver(
      [DM, { imageMessage: { caption: "look at this", mimetype: "image/jpeg" } }],
      [DM, { stickerMessage: { mimetype: "image/webp" } }],
      [DM, { imageMessage: { mimetype: "image/jpeg" } }],
      [DM, { videoMessage: { caption: "and this" } }],
      ["status@broadcast", { conversation: "a status update" }, { participant: DM }],
    );
    await until(() => rig.inbound.length === 2, "two captions");
    await settle();
    expect(rig.inbound.map((m) => m.text)).toEqual(["look at this", "and this"]);
  });

  it("ignores upserts that are not notify (history, own-device appends)", async () => {
    rig = await adapterRig();
    const sock = await rig.startOpen();
    sock.deliver([waMessage(DM, { conversation: "old history" })], "append");
    await settle();
    expect(rig.inbound).toHaveLength(0);
  });

  it("ignores its own messages outside a self-chat registered as main", async () => {
    rig = await adapterRig({ selfChatIsMain: () => false });
    await rig.startOpen();
    await deliver([DM, { conversation: "I wrote this" }, { fromMe: true }]);
    await deliver([OWNER_PN, { conversation: "note to self" }, { fromMe: true }]);
    await settle();
    expect(rig.inbound).toHaveLength(0);
  });

  it("accepts own messages in the owner's self-chat when it is the main chat, but not the bot's replies", async () => {
    rig = await adapterRig({ selfChatIsMain: (jid) => jid === OWNER_PN });
    await rig.startOpen();
    await rig.adapter.send(OWNER_PN, "a reply from the bot");
    await deliver([OWNER_PN, { conversation: "Andy: a reply from the bot" }, { fromMe: true, id: "SENT1" }]);
    await deliver([OWNER_PN, { conversation: "remind me tomorrow" }, { fromMe: true }]);
    await deliver([
      OWNER_LID,
      { conversation: "self chat by lid" },
      { fromMe: true, remoteJidAlt: OWNER_PN },
    ]);
    await until(() => rig.inbound.length === 2, "two own messages");
    expect(rig.inbound.map((m) => [m.chatId, m.senderId, m.fromMe, m.text])).toEqual([
      [OWNER_PN, OWNER_PN, true, "remind me tomorrow"],
      [OWNER_PN, OWNER_PN, true, "self chat by lid"],
    ]);
  });

  it("takes the main chat id as a string too", async () => {
    rig = await adapterRig({ selfChatIsMain: OWNER_PN });
    await rig.startOpen();
    await deliver([OWNER_PN, { conversation: "hi me" }, { fromMe: true }]);
    await until(() => rig.inbound.length === 1, "the self-chat message");
  });

  it("marks mentions of the bot's JID or LID and replies to the bot's messages", async () => {
    rig = await adapterRig();
    await rig.startOpen();
    rig.world.groups.set(GROUP, "G");
    const text = (t: string, contextInfo: object) => ({ extendedTextMessage: { text: t, contextInfo } });
    await deliver(
      [GROUP, text("@bot hi", { mentionedJid: [OWNER_PN] }), { participant: DM }],
      [GROUP, text("@bot by lid", { mentionedJid: ["998877665544:3@lid"] }), { participant: DM }],
      [
        GROUP,
        text("replying", { participant: OWNER_PN, quotedMessage: { conversation: "Andy: earlier answer" } }),
        { participant: DM },
      ],
      [
        GROUP,
        text("reply to the human owner", { participant: OWNER_PN, quotedMessage: { conversation: "hi" } }),
        { participant: DM },
      ],
      [GROUP, text("@someone", { mentionedJid: [DM] }), { participant: DM }],
      [GROUP, { conversation: "plain" }, { participant: DM }],
    );
    await until(() => rig.inbound.length === 6, "six messages");
    expect(rig.inbound.map((m) => m.mentionsAssistant)).toEqual([true, true, true, false, false, false]);
  });

  it("keeps going when the handler throws, and hands a message over only once", async () => {
    rig = await adapterRig();
    const sock = await rig.startOpen();
    let calls = 0;
    rig.adapter.onInbound(async (m) => {
      calls++;
      if (m.text === "boom") throw new Error("handler failed");
      rig.inbound.push(m);
    });
    const dup = waMessage(DM, { conversation: "once" });
    sock.deliver([waMessage(DM, { conversation: "boom" }), dup]);
    sock.deliver([dup]);
    await until(() => rig.inbound.length === 1, "the message after a failure");
    await settle();
    expect(calls).toBe(2);
  });
});

describe("WhatsApp outbound", () => {
  it("splits long replies under 4000 characters each, prefixed with the assistant's name", async () => {
    rig = await adapterRig();
    await rig.startOpen();
    const paragraphs = Array.from({ length: 40 }, (_, i) => `paragraph ${i} `.repeat(30).trim());
    await rig.adapter.send(DM, paragraphs.join("\n\n"));
    expect(rig.world.sent.length).toBeGreaterThan(1);
    for (const s of rig.world.sent) {
      expect(s.jid).toBe(DM);
      expect(s.text.length).toBeLessThanOrEqual(4000);
      expect(s.text.startsWith("Andy: ")).toBe(true);
    }
    const joined = rig.world.sent.map((s) => s.text.slice("Andy: ".length)).join("\n\n");
    expect(joined).toBe(paragraphs.join("\n\n"));
  });

  it("sends without a prefix when told not to", async () => {
    rig = await adapterRig({ prefixReplies: false });
    await rig.startOpen();
    await rig.adapter.send(GROUP, "plain");
    expect(rig.world.sent).toEqual([{ jid: GROUP, text: "plain" }]);
  });

  it("shows composing while a reply is prepared, then paused", async () => {
    rig = await adapterRig();
    await rig.startOpen();
    await rig.adapter.setTyping(DM, true);
    expect(rig.world.sent).toHaveLength(0);
    await rig.adapter.send(DM, "done");
    await rig.adapter.setTyping(DM, false);
    expect(rig.world.presences).toEqual([
      { type: "composing", jid: DM },
      { type: "paused", jid: DM },
    ]);
    expect(rig.world.sent).toHaveLength(1);
  });

  it("swallows typing failures and skips typing while disconnected", async () => {
    rig = await adapterRig();
    const sock = await rig.startOpen();
    await sock.serverClose(503);
    await expect(rig.adapter.setTyping(DM, true)).resolves.toBeUndefined();
    expect(rig.world.presences).toHaveLength(0);
  });

  it("tells a refusal apart from a network failure", async () => {
    rig = await adapterRig();
    await rig.startOpen();
    rig.world.refuseSends = true;
    const err = await rig.adapter.send(DM, "x").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChannelError);
    expect(err).not.toBeInstanceOf(ChannelNetworkError);
    await expect(rig.adapter.send("tg:123", "x")).rejects.toMatchObject({ code: "WHATSAPP_BAD_CHAT" });
  });

  it("a resend of one outbox row carries the same message id, and rows differ", async () => {
    rig = await adapterRig();
    await rig.startOpen();
    await rig.adapter.send(DM, "once", { idempotencyKey: "outbox:7:100" });
    await rig.adapter.send(DM, "once", { idempotencyKey: "outbox:7:100" });
    await rig.adapter.send(DM, "other", { idempotencyKey: "outbox:8:100" });
    const [first, again, other] = rig.world.sentIds;
    expect(first).toBe(whatsappMessageId("outbox:7:100", 0));
    expect(first).toMatch(/^3EB0[0-9A-F]{18}$/);
    expect(again).toBe(first);
    expect(other).not.toBe(first);
  });

  it("a retry skips the chunks already confirmed and keeps each chunk's id", async () => {
    rig = await adapterRig();
    await rig.startOpen();
    const long = `${"a".repeat(3990)}\n\n${"b".repeat(50)}`;
    const confirmed: number[] = [];
    await rig.adapter.send(DM, long, {
      idempotencyKey: "outbox:3:9",
      skipChunks: 1,
      onChunkSent: (n) => confirmed.push(n),
    });
    expect(rig.world.sent.map((m) => m.text)).toEqual([`Andy: ${"b".repeat(50)}`]);
    expect(rig.world.sentIds).toEqual([whatsappMessageId("outbox:3:9", 1)]);
    expect(confirmed).toEqual([2]);
  });

  it("a send that times out after the frame was written is maybe-sent, not a network failure", async () => {
    rig = await adapterRig();
    await rig.startOpen();
    rig.world.timeOutSendsAfterWrite = 1;
    const err = await rig.adapter.send(DM, "x", { idempotencyKey: "outbox:1:1" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChannelMaybeSentError);
    expect(err).not.toBeInstanceOf(ChannelNetworkError);
    expect(rig.world.sent).toHaveLength(1);
  });

  it("owns WhatsApp JIDs only", async () => {
    rig = await adapterRig();
    for (const id of [DM, GROUP, LID]) expect(rig.adapter.ownsChatId(id)).toBe(true);
    for (const id of ["tg:1", "local:console", "status@broadcast"])
      expect(rig.adapter.ownsChatId(id)).toBe(false);
  });
});
