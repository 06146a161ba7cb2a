import type { Db } from "./db.js";

/**
 * Where a reply stands. `sending`: the platform call is (or was, if the host died) in flight;
 * `failed-maybe-sent`: a second ambiguous outcome, so it is not sent again (it may be there twice).
 */
export type OutboxStatus = "pending" | "sending" | "delivered" | "failed" | "failed-maybe-sent";

/** A reply waiting for (or done with) delivery. */
export interface OutboxRow {
  id: number;
  chatId: string;
  turnId: number | null;
  text: string;
  status: OutboxStatus;
  /** Finished attempts (delivered, failed, or found interrupted). */
  attempts: number;
  /** Attempts whose outcome was ambiguous: reset or timeout after the request, or a crash while sending. */
  maybeSent: number;
  /** Resends made after an ambiguous outcome (at most one per row). */
  resends: number;
  /** Chunks of a long reply the platform confirmed; a later attempt starts after them. */
  sentChunks: number;
  lastError: string | null;
  createdAt: number;
  sendingAt: number | null;
  deliveredAt: number | null;
}

type DbStatus = "pending" | "sending" | "delivered" | "failed" | "failed_maybe_sent";

interface Row {
  id: number;
  chat_id: string;
  turn_id: number | null;
  text: string;
  status: DbStatus;
  attempts: number;
  maybe_sent: number;
  resends: number;
  sent_chunks: number;
  last_error: string | null;
  created_at: number;
  sending_at: number | null;
  delivered_at: number | null;
}

/** An ambiguous outcome beyond this many is not resent: at most one extra copy per reply. */
export const MAX_MAYBE_SENT = 2;
/**
 * The same limit for a channel whose platform shows a resend with the same message id once
 * (WhatsApp): a resend cannot add a copy there, so a reply gets more tries at arriving.
 */
export const MAX_MAYBE_SENT_SHOWN_ONCE = 6;

const toOutbox = (r: Row): OutboxRow => ({
  id: r.id,
  chatId: r.chat_id,
  turnId: r.turn_id,
  text: r.text,
  status: r.status === "failed_maybe_sent" ? "failed-maybe-sent" : r.status,
  attempts: r.attempts,
  maybeSent: r.maybe_sent,
  resends: r.resends,
  sentChunks: r.sent_chunks,
  lastError: r.last_error,
  createdAt: r.created_at,
  sendingAt: r.sending_at,
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

  /** Rows waiting to be sent, all chats, oldest first. */
  pending(): OutboxRow[] {
    return this.#rows("SELECT * FROM outbox WHERE status = 'pending' ORDER BY id");
  }

  /** One chat's waiting rows, oldest first. */
  pendingFor(chatId: string): OutboxRow[] {
    return this.#rows("SELECT * FROM outbox WHERE status = 'pending' AND chat_id = ? ORDER BY id", chatId);
  }

  /** Chats with at least one waiting row. */
  pendingChats(): string[] {
    const rows = this.db
      .prepare("SELECT DISTINCT chat_id FROM outbox WHERE status = 'pending' ORDER BY chat_id")
      .all() as { chat_id: string }[];
    return rows.map((r) => r.chat_id);
  }

  get(id: number): OutboxRow | null {
    const r = this.db.prepare("SELECT * FROM outbox WHERE id = ?").get(id) as Row | undefined;
    return r ? toOutbox(r) : null;
  }

  /** Written (and committed) before the platform call; counts a resend when an ambiguous outcome precedes it. */
  markSending(id: number, now: number): void {
    this.db
      .prepare(
        `UPDATE outbox SET status = 'sending', sending_at = ?,
           resends = CASE WHEN maybe_sent > resends THEN resends + 1 ELSE resends END
         WHERE id = ?`,
      )
      .run(now, id);
  }

  /** Records that the first `sentChunks` chunks were confirmed (never moves back). */
  markChunksSent(id: number, sentChunks: number): void {
    this.db.prepare("UPDATE outbox SET sent_chunks = MAX(sent_chunks, ?) WHERE id = ?").run(sentChunks, id);
  }

  markDelivered(id: number, now: number): void {
    this.db
      .prepare(
        "UPDATE outbox SET status = 'delivered', delivered_at = ?, attempts = attempts + 1 WHERE id = ?",
      )
      .run(now, id);
  }

  /** Records an attempt the platform did not take; `final` gives up on the row. */
  markAttemptFailed(id: number, error: string, final: boolean): void {
    this.db
      .prepare("UPDATE outbox SET attempts = attempts + 1, last_error = ?, status = ? WHERE id = ?")
      .run(error, final ? "failed" : "pending", id);
  }

  /**
   * Records an ambiguous attempt: the row goes back to pending for its resend, or, after `limit`
   * of them ({@link MAX_MAYBE_SENT} unless the channel shows resends once), to failed-maybe-sent.
   * Returns the updated row.
   */
  markMaybeSent(id: number, error: string, limit = MAX_MAYBE_SENT): OutboxRow | null {
    this.db
      .prepare(
        `UPDATE outbox SET attempts = attempts + 1, maybe_sent = maybe_sent + 1, last_error = ?,
           status = CASE WHEN maybe_sent + 1 >= ? THEN 'failed_maybe_sent' ELSE 'pending' END
         WHERE id = ?`,
      )
      .run(error, limit, id);
    return this.get(id);
  }

  /** Startup: rows a previous run left "sending" may have reached the platform; each counts as maybe sent. */
  recoverSending(error: string, limitFor: (chatId: string) => number = () => MAX_MAYBE_SENT): OutboxRow[] {
    return this.db.transaction(() => {
      const left = this.#rows("SELECT * FROM outbox WHERE status = 'sending' ORDER BY id");
      return left.map((r) => this.markMaybeSent(r.id, error, limitFor(r.chatId)) ?? r);
    })();
  }

  list(chatId?: string): OutboxRow[] {
    return chatId
      ? this.#rows("SELECT * FROM outbox WHERE chat_id = ? ORDER BY id", chatId)
      : this.#rows("SELECT * FROM outbox ORDER BY id");
  }

  #rows(sql: string, ...params: unknown[]): OutboxRow[] {
    return (this.db.prepare(sql).all(...params) as Row[]).map(toOutbox);
  }
}
