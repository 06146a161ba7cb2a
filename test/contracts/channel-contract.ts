import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Channel, chatIdPatterns, type InboundMessage } from "../../src/channels/channel.js";
import { waitFor } from "../wait.js";

/** What a channel implementation provides so the shared contract can drive it through its platform. */
export interface ChannelHarness {
  /** The channel under test, not yet started. */
  channel: Channel;
  /** A chat the platform double knows and the channel owns. */
  chatId: string;
  /** A chat id of another channel. */
  foreignChatId: string;
  /** Makes the platform deliver a user's text message in `chatId`. */
  deliverInbound(text: string): Promise<void>;
  /** Every text the platform received for `chatId`, in order. */
  sentTexts(): Promise<string[]>;
  /** Tears down the channel and its platform double. */
  close(): Promise<void>;
}

/** The behaviour every Channel implementation must show; call once per implementation. */
export function channelContract(name: string, makeHarness: () => Promise<ChannelHarness>): void {
  describe(`channel contract: ${name}`, () => {
    let h: ChannelHarness;
    let received: InboundMessage[];

    beforeEach(async () => {
      h = await makeHarness();
      received = [];
      h.channel.onInbound(async (m) => {
        received.push(m);
      });
      await h.channel.start();
    });

    afterEach(async () => {
      await h.channel.stop();
      await h.close();
    });

    it("owns its own chat ids and no other channel's", () => {
      expect(h.channel.ownsChatId(h.chatId)).toBe(true);
      expect(h.channel.ownsChatId(h.foreignChatId)).toBe(false);
    });

    it("owns exactly the ids its entry in chatIdPatterns accepts", () => {
      const pattern = chatIdPatterns[h.channel.name as keyof typeof chatIdPatterns];
      expect(pattern).toBeDefined();
      const ids = [
        ...["tg:1", "tg:-1001234567890", "tg:", "tg:abc", "tg:-", `tg:${"9".repeat(21)}`],
        ...["491701234567@s.whatsapp.net", "120363012345678901@g.us", "1234567890@lid", "12@g.us"],
        ...["status@broadcast", "491701234567@s.whatsapp.net.evil"],
        ...["local:console", "local:family-chat", "local:", "local:../x", "local:Console", "localx"],
      ];
      for (const id of ids) expect([id, h.channel.ownsChatId(id)]).toEqual([id, pattern?.test(id)]);
    });

    it("turns a platform message into an InboundMessage", async () => {
      await h.deliverInbound("hello from the contract");
      const m = await waitFor(() => received[0], "the inbound message");
      expect(m.chatId).toBe(h.chatId);
      expect(m.text).toBe("hello from the contract");
      expect(m.messageId).not.toBe("");
      expect(m.senderId).not.toBe("");
      expect(Number.isFinite(m.timestamp)).toBe(true);
    });

    it("gives distinct message ids to distinct messages", async () => {
      await h.deliverInbound("one");
      await h.deliverInbound("two");
      await waitFor(() => received[1], "two inbound messages");
      expect(received[0]?.messageId).not.toBe(received[1]?.messageId);
    });

    it("keeps delivering after a handler fails", async () => {
      let calls = 0;
      h.channel.onInbound(async (m) => {
        calls++;
        if (m.text === "boom") throw new Error("handler failed");
        received.push(m);
      });
      await h.deliverInbound("boom");
      await h.deliverInbound("after");
      const m = await waitFor(() => received.find((r) => r.text === "after"), "the message after a failure");
      expect(m.text).toBe("after");
      expect(calls).toBe(2);
    });

    it("sends text to the platform", async () => {
      await h.channel.send(h.chatId, "a reply");
      const texts = await waitFor(async () => {
        const t = await h.sentTexts();
        return t.length > 0 ? t : undefined;
      }, "the sent text");
      expect(texts.join("\n")).toContain("a reply");
    });

    it("delivers a long reply completely", async () => {
      const paragraphs = Array.from({ length: 60 }, (_, i) => `paragraph ${i} `.repeat(20).trim());
      const long = paragraphs.join("\n\n");
      await h.channel.send(h.chatId, long);
      const joined = (await h.sentTexts()).join("\n\n");
      for (const p of paragraphs) expect(joined).toContain(p);
    });

    it("accepts typing indicators without failing", async () => {
      await expect(h.channel.setTyping(h.chatId, true)).resolves.toBeUndefined();
      await expect(h.channel.setTyping(h.chatId, false)).resolves.toBeUndefined();
    });

    it("stops idempotently", async () => {
      await h.channel.stop();
      await expect(h.channel.stop()).resolves.toBeUndefined();
    });
  });
}
