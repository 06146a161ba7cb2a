import {
  isJidGroup,
  isLidUser,
  isPnUser,
  jidNormalizedUser,
  normalizeMessageContent,
  type proto,
  toNumber,
  type WAMessage,
} from "@whiskeysockets/baileys";
import { chatIdPatterns, type InboundMessage } from "../channel.js";

/** The linked account as the inbound mapper needs it. */
export interface OwnAccount {
  /** Phone-number JID without device: `<number>@s.whatsapp.net`. */
  pn?: string;
  /** LID without device: `<id>@lid`. */
  lid?: string;
}

/** The linked account from `sock.user` (`<number>:<device>@s.whatsapp.net`, `lid` likewise). */
export function ownAccount(user: { id?: string; lid?: string } | undefined): OwnAccount {
  const own: OwnAccount = {};
  if (user?.id) own.pn = jidNormalizedUser(user.id);
  if (user?.lid) own.lid = jidNormalizedUser(user.lid);
  return own;
}

function isOwn(own: OwnAccount, jid: string | null | undefined): boolean {
  if (!jid) return false;
  const n = jidNormalizedUser(jid);
  return n !== "" && (n === own.pn || n === own.lid);
}

/** A LID mapped to its phone-number JID when baileys gave the alternate; otherwise the JID without device. */
function preferPn(jid: string, alt: string | null | undefined): string {
  if (isLidUser(jid) && alt && isPnUser(alt)) return jidNormalizedUser(alt);
  return jidNormalizedUser(jid);
}

/** The text of a message: plain, extended (links, replies), or an image/video/document caption. */
export function messageText(content: proto.IMessage | null | undefined): string | null {
  const m = normalizeMessageContent(content);
  if (!m) return null;
  const text =
    m.conversation ??
    m.extendedTextMessage?.text ??
    m.imageMessage?.caption ??
    m.videoMessage?.caption ??
    m.documentMessage?.caption ??
    null;
  return text && text.trim() !== "" ? text : null;
}

function contextInfo(content: proto.IMessage | null | undefined): proto.IContextInfo | null {
  const m = normalizeMessageContent(content);
  return (
    m?.extendedTextMessage?.contextInfo ??
    m?.imageMessage?.contextInfo ??
    m?.videoMessage?.contextInfo ??
    m?.documentMessage?.contextInfo ??
    null
  );
}

/**
 * A mention of the linked account, or a reply to one of its messages. With a reply prefix set,
 * only a reply to a message carrying it counts (the account also sends its owner's own messages).
 */
function mentionsAccount(
  content: proto.IMessage | null | undefined,
  own: OwnAccount,
  replyPrefix?: string,
): boolean {
  const ctx = contextInfo(content);
  if (!ctx) return false;
  if (ctx.mentionedJid?.some((j) => isOwn(own, j))) return true;
  if (!isOwn(own, ctx.participant)) return false;
  if (!replyPrefix) return true;
  return messageText(ctx.quotedMessage)?.startsWith(replyPrefix) ?? false;
}

/** Options for {@link mapInbound}. */
export interface MapOptions {
  own: OwnAccount;
  now: () => number;
  /** Prefix of the assistant's own replies (`Andy: `), when it prefixes them. */
  replyPrefix?: string;
}

/**
 * A baileys message as an InboundMessage (without `chatName`), or null when it is nothing the
 * host handles: no text, no id, or a chat that is not a user, LID or group JID (status, newsletters).
 */
export function mapInbound(msg: WAMessage, options: MapOptions): InboundMessage | null {
  const { key } = msg;
  if (!key.remoteJid || !key.id) return null;
  const text = messageText(msg.message);
  if (text === null) return null;
  const isGroup = isJidGroup(key.remoteJid) === true;
  const chatId = isGroup ? key.remoteJid : preferPn(key.remoteJid, key.remoteJidAlt);
  if (!chatIdPatterns.whatsapp.test(chatId)) return null;
  const fromMe = key.fromMe === true;
  let senderId: string;
  if (fromMe) senderId = options.own.pn ?? options.own.lid ?? chatId;
  else if (isGroup) senderId = key.participant ? preferPn(key.participant, key.participantAlt) : "";
  else senderId = chatId;
  if (senderId === "") return null;
  const seconds = msg.messageTimestamp ? toNumber(msg.messageTimestamp) : 0;
  return {
    chatId,
    messageId: key.id,
    senderId,
    senderName: msg.pushName || senderId.split("@")[0] || senderId,
    text,
    timestamp: seconds > 0 ? seconds * 1000 : options.now(),
    fromMe,
    mentionsAssistant: mentionsAccount(msg.message, options.own, options.replyPrefix),
    isGroup,
  };
}

/** Whether `chatId` is the linked account's chat with itself ("Message yourself"). */
export function isSelfChat(chatId: string, own: OwnAccount): boolean {
  return chatId === own.pn || chatId === own.lid;
}
