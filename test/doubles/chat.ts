import type { RegisteredChat } from "../../src/registration/chat.js";

/** A registered chat for tests: a Telegram group with the default trigger, overridable field by field. */
export function makeChat(over: Partial<RegisteredChat> = {}): RegisteredChat {
  return {
    chatId: "tg:-100",
    channel: "telegram",
    name: "Family",
    folder: "family",
    trigger: "@Andy",
    requiresTrigger: true,
    isMain: false,
    allowedSenders: null,
    limits: null,
    extraMounts: [],
    createdAt: 0,
    ...over,
  };
}
