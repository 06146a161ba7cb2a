import type { InboundMessage } from "../channels/channel.js";
import type { Db } from "./db.js";

/** A message as stored: the inbound fields plus its position in the log. */
export interface StoredMessage extends InboundMessage {
  seq: number;
  channel: string;
  /** Whether the router decided, on receipt, that this message triggers the assistant. */
  triggers: boolean;
}

interface MessageRow {
  seq: number;
  channel: string;
  chat_id: string;
  message_id: string;
  sender_id: string;
  sender_name: string;
  text: string;
  ts: number;
  from_me: number;
  mentions_assistant: number;
  triggers: number;
}

function toMessage(r: MessageRow): StoredMessage {
  return {
    seq: r.seq,
    channel: r.channel,
    chatId: r.chat_id,
    messageId: r.message_id,
    senderId: r.sender_id,
    senderName: r.sender_name,
    text: r.text,
    timestamp: r.ts,
    fromMe: r.from_me === 1,
    mentionsAssistant: r.mentions_assistant === 1,
    triggers: r.triggers === 1,
  };
}

/** The message log; storing is idempotent on channel + chat + message id. */
export class MessagesTable {
  constructor(private readonly db: Db) {}

  /**
   * Stores a message once. Returns the stored row, or null when this exact message
   * (same channel, chat and message id) was stored before.
   */
  insert(channel: string, m: InboundMessage, triggers: boolean, now: number): StoredMessage | null {
    const info = this.db
      .prepare(
        `INSERT OR IGNORE INTO messages (channel, chat_id, message_id, sender_id, sender_name, text, ts,
          from_me, mentions_assistant, triggers, received_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        channel,
        m.chatId,
        m.messageId,
        m.senderId,
        m.senderName,
        m.text,
        m.timestamp,
        m.fromMe ? 1 : 0,
        m.mentionsAssistant ? 1 : 0,
        triggers ? 1 : 0,
        now,
      );
    if (info.changes === 0) return null;
    return { ...m, seq: Number(info.lastInsertRowid), channel, triggers };
  }

  /** Messages of a chat after `afterSeq`, oldest first. */
  since(chatId: string, afterSeq: number): StoredMessage[] {
    return (
      this.db
        .prepare("SELECT * FROM messages WHERE chat_id = ? AND seq > ? ORDER BY seq")
        .all(chatId, afterSeq) as MessageRow[]
    ).map(toMessage);
  }

  /** The newest triggering message's seq per chat, for recovery. */
  lastTriggerSeqByChat(): Map<string, number> {
    const rows = this.db
      .prepare("SELECT chat_id, MAX(seq) AS seq FROM messages WHERE triggers = 1 GROUP BY chat_id")
      .all() as { chat_id: string; seq: number }[];
    return new Map(rows.map((r) => [r.chat_id, r.seq]));
  }

  count(chatId?: string): number {
    const row = chatId
      ? this.db.prepare("SELECT COUNT(*) AS n FROM messages WHERE chat_id = ?").get(chatId)
      : this.db.prepare("SELECT COUNT(*) AS n FROM messages").get();
    return (row as { n: number }).n;
  }
}
