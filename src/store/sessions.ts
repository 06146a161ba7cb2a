import type { Db } from "./db.js";

/** The agent session id per chat, so a new container resumes the conversation. */
export class SessionsTable {
  constructor(private readonly db: Db) {}

  get(chatId: string): string | null {
    const r = this.db.prepare("SELECT session_id FROM sessions WHERE chat_id = ?").get(chatId) as
      | { session_id: string }
      | undefined;
    return r?.session_id ?? null;
  }

  set(chatId: string, sessionId: string, now: number): void {
    this.db
      .prepare(
        `INSERT INTO sessions (chat_id, session_id, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (chat_id) DO UPDATE SET session_id = excluded.session_id, updated_at = excluded.updated_at`,
      )
      .run(chatId, sessionId, now);
  }
}
