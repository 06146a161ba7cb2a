import { StoreError } from "../errors.js";
import { type RegisteredChat, sanitizeName } from "../registration/chat.js";
import type { Db } from "./db.js";

interface ChatRow {
  chat_id: string;
  channel: string;
  name: string;
  folder: string;
  trigger: string;
  requires_trigger: number;
  is_main: number;
  allowed_senders: string | null;
  limits: string | null;
  extra_mounts: string;
  created_at: number;
}

function toChat(r: ChatRow): RegisteredChat {
  return {
    chatId: r.chat_id,
    channel: r.channel as RegisteredChat["channel"],
    name: r.name,
    folder: r.folder,
    trigger: r.trigger,
    requiresTrigger: r.requires_trigger === 1,
    isMain: r.is_main === 1,
    allowedSenders: r.allowed_senders ? (JSON.parse(r.allowed_senders) as string[]) : null,
    limits: r.limits ? (JSON.parse(r.limits) as RegisteredChat["limits"]) : null,
    extraMounts: JSON.parse(r.extra_mounts) as RegisteredChat["extraMounts"],
    createdAt: r.created_at,
  };
}

/** Registered chats. */
export class ChatsTable {
  constructor(private readonly db: Db) {}

  /** Inserts a chat; throws StoreError CHAT_EXISTS / FOLDER_TAKEN on duplicates. */
  insert(chat: RegisteredChat): void {
    if (this.get(chat.chatId)) {
      throw new StoreError("CHAT_EXISTS", `chat ${chat.chatId} is already registered`);
    }
    if (this.byFolder(chat.folder)) {
      throw new StoreError("FOLDER_TAKEN", `folder "${chat.folder}" is already used by another chat`);
    }
    this.db
      .prepare(
        `INSERT INTO chats (chat_id, channel, name, folder, trigger, requires_trigger, is_main,
          allowed_senders, limits, extra_mounts, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        chat.chatId,
        chat.channel,
        chat.name,
        chat.folder,
        chat.trigger,
        chat.requiresTrigger ? 1 : 0,
        chat.isMain ? 1 : 0,
        chat.allowedSenders ? JSON.stringify(chat.allowedSenders) : null,
        chat.limits ? JSON.stringify(chat.limits) : null,
        JSON.stringify(chat.extraMounts),
        chat.createdAt,
      );
  }

  get(chatId: string): RegisteredChat | null {
    const r = this.db.prepare("SELECT * FROM chats WHERE chat_id = ?").get(chatId) as ChatRow | undefined;
    return r ? toChat(r) : null;
  }

  byFolder(folder: string): RegisteredChat | null {
    const r = this.db.prepare("SELECT * FROM chats WHERE folder = ?").get(folder) as ChatRow | undefined;
    return r ? toChat(r) : null;
  }

  list(): RegisteredChat[] {
    return (this.db.prepare("SELECT * FROM chats ORDER BY created_at, chat_id").all() as ChatRow[]).map(
      toChat,
    );
  }

  /** The main chat, if one is registered. */
  main(): RegisteredChat | null {
    const r = this.db.prepare("SELECT * FROM chats WHERE is_main = 1 LIMIT 1").get() as ChatRow | undefined;
    return r ? toChat(r) : null;
  }

  /** Writes a chat's settings (name, trigger, limits, senders, mounts); the id, folder and main flag stay. */
  update(chat: RegisteredChat): void {
    this.db
      .prepare(
        `UPDATE chats SET name = ?, trigger = ?, requires_trigger = ?, allowed_senders = ?, limits = ?,
          extra_mounts = ? WHERE chat_id = ?`,
      )
      .run(
        chat.name,
        chat.trigger,
        chat.requiresTrigger ? 1 : 0,
        chat.allowedSenders ? JSON.stringify(chat.allowedSenders) : null,
        chat.limits ? JSON.stringify(chat.limits) : null,
        JSON.stringify(chat.extraMounts),
        chat.chatId,
      );
  }

  /** Removes a chat's registration; returns whether there was one. */
  remove(chatId: string): boolean {
    return this.db.prepare("DELETE FROM chats WHERE chat_id = ?").run(chatId).changes > 0;
  }

  /** Updates the display name (group subjects change). */
  rename(chatId: string, name: string): void {
    this.db.prepare("UPDATE chats SET name = ? WHERE chat_id = ?").run(sanitizeName(name), chatId);
  }
}
