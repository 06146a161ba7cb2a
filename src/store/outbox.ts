import type { Db } from "./db.js";

/** A reply waiting for (or done with) delivery. */
export interface OutboxRow {
  id: number;
  chatId: string;
  turnId: number | null;
  text: string;
  status: "pending" | "delivered" | "failed";
  attempts: number;
  lastError: string | null;
  createdAt: number;
  deliveredAt: number | null;
}

interface Row {
  id: number;
  chat_id: string;
  turn_id: number | null;
  text: string;
  status: OutboxRow["status"];
  attempts: number;
  last_error: string | null;
  created_at: number;
  delivered_at: number | null;
}

const toOutbox = (r: Row): OutboxRow => ({
  id: r.id,
  chatId: r.chat_id,
  turnId: r.turn_id,
  text: r.text,
  status: r.status,
  attempts: r.attempts,
  lastError: r.last_error,
  createdAt: r.created_at,
  deliveredAt: r.delivered_at,
});

/** Outbound messages: written with the cursor, sent by the delivery worker. */
export class OutboxTable {
  constructor(private readonly db: Db) {}

  add(chatId: string, turnId: number | null, text: string, now: number): number {
    const info = this.db
      .prepare(
        "INSERT INTO outbox (chat_id, turn_id, text, status, created_at) VALUES (?, ?, ?, 'pending', ?)",
      )
      .run(chatId, turnId, text, now);
    return Number(info.lastInsertRowid);
  }

  pending(): OutboxRow[] {
    return (this.db.prepare("SELECT * FROM outbox WHERE status = 'pending' ORDER BY id").all() as Row[]).map(
      toOutbox,
    );
  }

  get(id: number): OutboxRow | null {
    const r = this.db.prepare("SELECT * FROM outbox WHERE id = ?").get(id) as Row | undefined;
    return r ? toOutbox(r) : null;
  }

  markDelivered(id: number, now: number): void {
    this.db
      .prepare(
        "UPDATE outbox SET status = 'delivered', delivered_at = ?, attempts = attempts + 1 WHERE id = ?",
      )
      .run(now, id);
  }

  /** Records a failed attempt; `final` gives up on the row. */
  markAttemptFailed(id: number, error: string, final: boolean): void {
    this.db
      .prepare("UPDATE outbox SET attempts = attempts + 1, last_error = ?, status = ? WHERE id = ?")
      .run(error, final ? "failed" : "pending", id);
  }

  list(chatId?: string): OutboxRow[] {
    const rows = chatId
      ? this.db.prepare("SELECT * FROM outbox WHERE chat_id = ? ORDER BY id").all(chatId)
      : this.db.prepare("SELECT * FROM outbox ORDER BY id").all();
    return (rows as Row[]).map(toOutbox);
  }
}
