import path from "node:path";
import { ChatsTable } from "./chats-table.js";
import { type Db, openDb } from "./db.js";
import { MessagesTable } from "./messages.js";
import { MetaTable } from "./meta.js";
import { OutboxTable } from "./outbox.js";
import { SessionsTable } from "./sessions.js";
import { TaskRunsTable, TasksTable } from "./tasks.js";
import { TurnsTable } from "./turns.js";

export type { StoredMessage } from "./messages.js";
export type { HostLife } from "./meta.js";
export { MAX_MAYBE_SENT, MAX_MAYBE_SENT_SHOWN_ONCE, type OutboxRow } from "./outbox.js";
export { TaskRunsTable, TasksTable } from "./tasks.js";
export type { Turn } from "./turns.js";

/** nestbox's SQLite store: one typed object per table, plus the writes that must be atomic. */
export class Store {
  readonly chats: ChatsTable;
  readonly messages: MessagesTable;
  readonly turns: TurnsTable;
  readonly outbox: OutboxTable;
  readonly sessions: SessionsTable;
  readonly meta: MetaTable;
  readonly tasks: TasksTable;
  readonly taskRuns: TaskRunsTable;

  constructor(readonly db: Db) {
    this.chats = new ChatsTable(db);
    this.messages = new MessagesTable(db);
    this.turns = new TurnsTable(db);
    this.outbox = new OutboxTable(db);
    this.sessions = new SessionsTable(db);
    this.meta = new MetaTable(db);
    this.tasks = new TasksTable(db);
    this.taskRuns = new TaskRunsTable(db);
  }

  /** Opens `<dataDir>/nestbox.db`. */
  static open(dataDir: string): Store {
    return new Store(openDb(path.join(dataDir, "nestbox.db")));
  }

  /** Runs `fn` in one SQLite transaction. */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  /** Writes a reply to the outbox and advances the chat's cursor, atomically. Returns the outbox id. */
  commitReply(chatId: string, turnId: number | null, text: string, coveredSeq: number, now: number): number {
    return this.transaction(() => {
      const id = this.outbox.add(chatId, turnId, text, now);
      this.turns.advanceCursor(chatId, coveredSeq, now);
      return id;
    });
  }

  /** Throws when the database cannot answer a query (closed, unreadable): the health endpoint's store check. */
  ping(): void {
    this.db.prepare("SELECT 1").get();
  }

  /** Deletes everything stored for a chat (messages, cursor, turns, replies, session, tasks) in one transaction. */
  forgetChat(chatId: string): void {
    this.transaction(() => {
      for (const table of ["messages", "cursors", "turns", "outbox", "sessions", "task_runs", "tasks"]) {
        this.db.prepare(`DELETE FROM ${table} WHERE chat_id = ?`).run(chatId);
      }
    });
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
