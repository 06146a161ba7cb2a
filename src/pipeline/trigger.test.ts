import { describe, expect, it } from "vitest";
import { makeChat } from "../../test/doubles/chat.js";
import type { InboundMessage } from "../channels/channel.js";
import type { RegisteredChat } from "../registration/chat.js";
import { decide, startsWithTrigger } from "./trigger.js";

describe("startsWithTrigger", () => {
  it.each([
    ["@Andy hello", true],
    ["@andy hello", true],
    ["@ANDY", true],
    ["@Andy, what's up", true],
    ["@Andy: hi", true],
    ["  @Andy hi", true],
    ["\n@Andy hi", true],
    ["@Andyx hi", false],
    ["@Andy_bot hi", false],
    ["@Andy2 hi", false],
    ["hello @Andy", false],
    ["Andy hi", false],
    ["", false],
    ["@Andé hi", false],
  ])("%j -> %s", (text, expected) => {
    expect(startsWithTrigger(text, "@Andy")).toBe(expected);
  });

  it("treats regex characters in the trigger literally", () => {
    expect(startsWithTrigger("bot? hi", "bot?")).toBe(true);
    expect(startsWithTrigger("bo hi", "bot?")).toBe(false);
    expect(startsWithTrigger("(x) y", "(x)")).toBe(true);
  });

  it("never matches an empty trigger", () => {
    expect(startsWithTrigger("anything", "  ")).toBe(false);
  });
});

const chat = (over: Partial<RegisteredChat> = {}) =>
  makeChat({ chatId: "tg:-1", name: "Group", folder: "group", ...over });

const msg = (text: string, over: Partial<InboundMessage> = {}): InboundMessage => ({
  chatId: "tg:-1",
  messageId: "1",
  senderId: "42",
  senderName: "Alice",
  text,
  timestamp: 0,
  fromMe: false,
  mentionsAssistant: false,
  ...over,
});

describe("decide", () => {
  it("never dispatches unregistered chats", () => {
    expect(decide(null, msg("@Andy hi"))).toEqual({ triggers: false, reason: "unregistered" });
  });
  it("triggers on the trigger word, not without it", () => {
    expect(decide(chat(), msg("@Andy hi")).triggers).toBe(true);
    expect(decide(chat(), msg("just chatting"))).toEqual({ triggers: false, reason: "no_trigger" });
  });
  it("triggers on a native mention or reply to the bot", () => {
    expect(decide(chat(), msg("look at this", { mentionsAssistant: true }))).toEqual({
      triggers: true,
      reason: "mention",
    });
  });
  it("answers every message in no-trigger chats and the main chat", () => {
    expect(decide(chat({ requiresTrigger: false }), msg("hi")).triggers).toBe(true);
    expect(decide(chat({ isMain: true }), msg("hi")).triggers).toBe(true);
  });
  it("ignores senders outside the allowlist, even with the trigger", () => {
    const c = chat({ allowedSenders: ["7"] });
    expect(decide(c, msg("@Andy hi"))).toEqual({ triggers: false, reason: "sender_not_allowed" });
    expect(decide(c, msg("@Andy hi", { senderId: "7" })).triggers).toBe(true);
  });
  it("does not trigger on empty text", () => {
    expect(decide(chat({ isMain: true }), msg("   ")).triggers).toBe(false);
  });
});
