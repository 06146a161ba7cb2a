import type { Db } from "./db.js";

/** One agent turn over a range of a chat's messages. */
export interface Turn {
  id: number;
  chatId: string;
  fromSeq: number;
  toSeq: number;
  status: "running" | "done" | "failed" | "interrupted";
  startedAt: number;
  endedAt: number | null;
  error: string | null;
  /** Why it failed, as an error code (e.g. `model_unavailable`); null when done or unknown. */
  errorCode: string | null;
}

interface TurnRow {
  id: number;
  chat_id: string;
  from_seq: number;
  to_seq: number;
  status: Turn["status"];
  started_at: number;
  ended_at: number | null;
  error: string | null;
  error_code: string | null;
}

const toTurn = (r: TurnRow): Turn => ({
  id: r.id,
  chatId: r.chat_id,
  fromSeq: r.from_seq,
  toSeq: r.to_seq,
  status: r.status,
  startedAt: r.started_at,
  endedAt: r.ended_at,
  error: r.error,
  errorCode: r.error_code,
});

/** Turns and the per-chat cursor (the last message seq a finished turn covered). */
export class TurnsTable {
  constructor(private readonly db: Db) {}

  cursor(chatId: string): number {
    const r = this.db.prepare("SELECT last_seq FROM cursors WHERE chat_id = ?").get(chatId) as
      | { last_seq: number }
      | undefined;
    return r?.last_seq ?? 0;
  }

  /** Moves the cursor forward (never back). */
  advanceCursor(chatId: string, seq: number, now: number): void {
    this.db
      .prepare(
        `INSERT INTO cursors (chat_id, last_seq, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (chat_id) DO UPDATE SET last_seq = MAX(last_seq, excluded.last_seq), updated_at = excluded.updated_at`,
      )
      .run(chatId, seq, now);
  }

  start(chatId: string, fromSeq: number, toSeq: number, now: number): number {
    const info = this.db
      .prepare(
        "INSERT INTO turns (chat_id, from_seq, to_seq, status, started_at) VALUES (?, ?, ?, 'running', ?)",
      )
      .run(chatId, fromSeq, toSeq, now);
    return Number(info.lastInsertRowid);
  }

  finish(
    id: number,
    status: "done" | "failed",
    now: number,
    details: { error?: string; errorCode?: string; inputTokens?: number; outputTokens?: number } = {},
  ): void {
    this.db
      .prepare(
        `UPDATE turns SET status = ?, ended_at = ?, error = ?, error_code = ?, input_tokens = ?, output_tokens = ?
         WHERE id = ?`,
      )
      .run(
        status,
        now,
        details.error ?? null,
        details.errorCode ?? null,
        details.inputTokens ?? null,
        details.outputTokens ?? null,
        id,
      );
  }

  /** The chat's last finished turn before `beforeId` (done or failed), or null. */
  previousFinished(chatId: string, beforeId: number): Turn | null {
    const r = this.db
      .prepare(
        "SELECT * FROM turns WHERE chat_id = ? AND id < ? AND status IN ('done', 'failed') ORDER BY id DESC LIMIT 1",
      )
      .get(chatId, beforeId) as TurnRow | undefined;
    return r ? toTurn(r) : null;
  }

  /** Marks turns left running by a crash as interrupted; returns how many. */
  interruptRunning(now: number): number {
    return this.db
      .prepare("UPDATE turns SET status = 'interrupted', ended_at = ? WHERE status = 'running'")
      .run(now).changes;
  }

  get(id: number): Turn | null {
    const r = this.db.prepare("SELECT * FROM turns WHERE id = ?").get(id) as TurnRow | undefined;
    return r ? toTurn(r) : null;
  }

  list(chatId: string): Turn[] {
    return (
      this.db.prepare("SELECT * FROM turns WHERE chat_id = ? ORDER BY id").all(chatId) as TurnRow[]
    ).map(toTurn);
  }

  /** The newest failed turns of every chat, newest first: the "last errors" of `status`. */
  recentFailures(limit: number): Turn[] {
    return (
      this.db
        .prepare("SELECT * FROM turns WHERE status = 'failed' ORDER BY id DESC LIMIT ?")
        .all(limit) as TurnRow[]
    ).map(toTurn);
  }
}
