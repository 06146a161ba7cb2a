import type { Chat, Message, MessageEntity, User, UserFromGetMe } from "grammy/types";
import { chatIdPatterns, type InboundMessage } from "../channel.js";

/** `tg:<id>` for a Telegram chat id (groups are negative). */
export function toChatId(id: number): string {
  return `tg:${id}`;
}

/** The numeric Telegram chat id inside `tg:<id>`, or null when the id is not a Telegram one. */
export function parseChatId(chatId: string): number | null {
  return chatIdPatterns.telegram.test(chatId) ? Number(chatId.slice("tg:".length)) : null;
}

/** A person's display name: first and last name, else the username, else the id. */
export function userName(user: Pick<User, "id" | "first_name" | "last_name" | "username">): string {
  const full = [user.first_name, user.last_name].filter(Boolean).join(" ").trim();
  return full || user.username || String(user.id);
}

/** The group title, or for a private chat the other person's name. */
export function chatName(chat: Chat): string {
  if ("title" in chat && chat.title) return chat.title;
  const named = chat as { first_name?: string; last_name?: string; username?: string };
  const full = [named.first_name, named.last_name].filter(Boolean).join(" ").trim();
  return full || named.username || String(chat.id);
}

/** Whether the message mentions the bot natively (`@username` or a text mention) or replies to it. */
export function mentionsBot(message: Message, me: UserFromGetMe): boolean {
  if (message.reply_to_message?.from?.id === me.id) return true;
  const text = message.text ?? message.caption ?? "";
  const entities: MessageEntity[] = message.entities ?? message.caption_entities ?? [];
  const handle = `@${me.username}`.toLowerCase();
  return entities.some(
    (e) =>
      (e.type === "mention" && text.slice(e.offset, e.offset + e.length).toLowerCase() === handle) ||
      (e.type === "text_mention" && e.user.id === me.id),
  );
}

/**
 * The InboundMessage for a Telegram message, or null for what nestbox does not take in: messages
 * without text or caption, and the bot's own messages.
 */
export function toInbound(message: Message, me: UserFromGetMe): InboundMessage | null {
  const text = message.text ?? message.caption;
  if (text === undefined) return null;
  if (message.from?.id === me.id) return null;
  // Anonymous group admins and linked channels post as a chat, not a user.
  const sender = message.from
    ? { id: String(message.from.id), name: userName(message.from) }
    : {
        id: String(message.sender_chat?.id ?? message.chat.id),
        name: chatName(message.sender_chat ?? message.chat),
      };
  const isGroup = message.chat.type === "group" || message.chat.type === "supergroup";
  return {
    chatId: toChatId(message.chat.id),
    messageId: String(message.message_id),
    senderId: sender.id,
    senderName: sender.name,
    text,
    timestamp: message.date * 1000,
    fromMe: false,
    mentionsAssistant: mentionsBot(message, me),
    chatName: chatName(message.chat),
    isGroup,
  };
}
