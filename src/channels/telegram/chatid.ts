import { isValidFolder } from "../../registration/chat.js";
import { toChatId } from "./inbound.js";

/**
 * A folder name for a chat that `setup register` accepts, derived from its name (lowercase ASCII,
 * dashes, at most 64 characters); `tg-<id>` when the name gives none or a reserved one.
 */
export function suggestFolder(name: string, chatId: number): string {
  const slug = name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, "-")
    .replace(/^[-_]+/, "")
    .slice(0, 64)
    .replace(/[-_]+$/, "");
  return isValidFolder(slug) ? slug : `tg-${String(Math.abs(chatId))}`.slice(0, 64);
}

/** Quotes a value for a POSIX shell so the user can paste the command as it is. */
export function shellQuote(value: string): string {
  return `"${value.replace(/(["\\$`])/g, "\\$1")}"`;
}

/** What the `/chatid` answer is built from. */
export interface ChatIdReplyInput {
  chatId: number;
  chatName: string;
  isPrivate: boolean;
  assistantName: string;
  botUsername: string;
  /** The host's data folder when it is not the default: the command sets NESTBOX_DATA_DIR to it. */
  dataDir?: string;
}

/** The answer to `/chatid`: the chat's nestbox id and the exact command that registers it. */
export function chatIdReply(input: ChatIdReplyInput): string {
  const jid = toChatId(input.chatId);
  const command = [
    ...(input.dataDir ? [`NESTBOX_DATA_DIR=${shellQuote(input.dataDir)}`] : []),
    "npm run setup -- register --channel telegram",
    `--jid ${jid}`,
    `--name ${shellQuote(input.chatName)}`,
    `--folder ${suggestFolder(input.chatName, input.chatId)}`,
  ].join(" ");
  const lines = [`This chat's id is ${jid}`, "", "To register it, run this on the nestbox host:", command];
  if (input.isPrivate) {
    lines.push("", "If this is your own chat with the bot, add --is-main to make it the main chat.");
  } else {
    lines.push(
      "",
      `Once registered, start a message with @${input.assistantName}, mention @${input.botUsername} or reply to me.`,
    );
  }
  return lines.join("\n");
}
