import type { InboundMessage } from "../channels/channel.js";
import type { RegisteredChat } from "../registration/chat.js";

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * Whether `text` starts with `trigger` (case-insensitive, leading whitespace ignored), followed by
 * a non-word character or the end: `@Andy hi` and `@andy, hi` trigger; `@Andyx`, `hi @Andy` do not.
 */
export function startsWithTrigger(text: string, trigger: string): boolean {
  if (trigger.trim() === "") return false;
  return new RegExp(`^${escapeRegExp(trigger.trim())}(?![\\p{L}\\p{N}_])`, "iu").test(text.trimStart());
}

/** Why a message does or does not start a turn; `triggers` is what the pipeline acts on. */
export type Decision =
  | { triggers: true; reason: "no_trigger_required" | "trigger_word" | "mention" }
  | { triggers: false; reason: "unregistered" | "sender_not_allowed" | "no_trigger" | "empty" };

/** The router's rule: registered chat, allowed sender, then trigger word, mention or no-trigger chat. */
export function decide(chat: RegisteredChat | null, message: InboundMessage): Decision {
  if (!chat) return { triggers: false, reason: "unregistered" };
  if (message.text.trim() === "") return { triggers: false, reason: "empty" };
  if (chat.allowedSenders && !chat.allowedSenders.includes(message.senderId)) {
    return { triggers: false, reason: "sender_not_allowed" };
  }
  if (chat.isMain || !chat.requiresTrigger) return { triggers: true, reason: "no_trigger_required" };
  if (startsWithTrigger(message.text, chat.trigger)) return { triggers: true, reason: "trigger_word" };
  if (message.mentionsAssistant) return { triggers: true, reason: "mention" };
  return { triggers: false, reason: "no_trigger" };
}
