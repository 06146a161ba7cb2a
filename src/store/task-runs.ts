import { StoreError } from "../errors.js";
import type { RunStatus, TaskRun } from "../tasks/task.js";
import type { Db } from "./db.js";

/** The StoreError for a task id with no row. */
export const missing = (id: number): StoreError =>
  new StoreError("TASK_MISSING", `task ${id} is not in the store`);

interface RunRow {
  id: number;
  task_id: number;
  chat_id: string;
  scheduled_for: number;
  status: RunStatus;
  queued_at: number;
  started_at: number | null;
  ended_at: number | null;
  error: string | null;
  error_code: string | null;
  replies: number;
  reply_chars: number;
  attempts: number;
}

const toRun = (r: RunRow): TaskRun => ({
  id: r.id,
  taskId: r.task_id,
  chatId: r.chat_id,
  scheduledFor: r.scheduled_for,
  status: r.status,
  queuedAt: r.queued_at,
  startedAt: r.started_at,
  endedAt: r.ended_at,
  error: r.error,
  errorCode: r.error_code,
  replies: r.replies,
  replyChars: r.reply_chars,
  attempts: r.attempts,
});

/** A run interrupted after it had replied: its answer reached the chat, so it counts as done. */
export const INTERRUPTED_AFTER_REPLY = "interrupted after its reply";
/** A run interrupted before any reply, twice: not tried again. */
export const INTERRUPTED_TWICE = "interrupted twice before it replied (host restarts)";

/** Each run of a task, from queued to done or failed. */
export class TaskRunsTable {
  constructor(private readonly db: Db) {}

  /**
   * In one transaction: a queued run for the task unless one is already queued or running (then null:
   * never a burst), and the task's nextRunAt set to `nextRunAt` (null for a once-task). A task that is
   * no longer active is left alone (null).
   */
  fire(taskId: number, scheduledFor: number, nextRunAt: number | null, now: number): TaskRun | null {
    return this.db.transaction(() => {
      const task = this.db.prepare("SELECT chat_id, status FROM tasks WHERE id = ?").get(taskId) as
        | { chat_id: string; status: string }
        | undefined;
      if (!task) throw missing(taskId);
      // Paused or ended since it was read as due: it keeps no next run and gets no run.
      if (task.status !== "active") return null;
      this.db
        .prepare("UPDATE tasks SET next_run_at = ?, updated_at = ? WHERE id = ?")
        .run(nextRunAt, now, taskId);
      const open = this.db
        .prepare("SELECT 1 FROM task_runs WHERE task_id = ? AND status IN ('queued', 'running') LIMIT 1")
        .get(taskId);
      if (open) return null;
      const info = this.db
        .prepare(
          "INSERT INTO task_runs (task_id, chat_id, scheduled_for, status, queued_at) VALUES (?, ?, ?, 'queued', ?)",
        )
        .run(taskId, task.chat_id, scheduledFor, now);
      return this.get(Number(info.lastInsertRowid));
    })();
  }

  get(runId: number): TaskRun | null {
    const r = this.db.prepare("SELECT * FROM task_runs WHERE id = ?").get(runId) as RunRow | undefined;
    return r ? toRun(r) : null;
  }

  /** The chat's queued runs, oldest first. */
  queuedFor(chatId: string): TaskRun[] {
    return (
      this.db
        .prepare("SELECT * FROM task_runs WHERE chat_id = ? AND status = 'queued' ORDER BY id")
        .all(chatId) as RunRow[]
    ).map(toRun);
  }

  /** Chats with at least one queued run, the longest-waiting first. */
  chatsWithQueued(): string[] {
    return (
      this.db
        .prepare("SELECT chat_id FROM task_runs WHERE status = 'queued' GROUP BY chat_id ORDER BY MIN(id)")
        .all() as { chat_id: string }[]
    ).map((r) => r.chat_id);
  }

  start(runId: number, now: number): void {
    this.db
      .prepare(
        "UPDATE task_runs SET status = 'running', started_at = ?, attempts = attempts + 1 WHERE id = ?",
      )
      .run(now, runId);
  }

  addReply(runId: number, chars: number): void {
    this.db
      .prepare("UPDATE task_runs SET replies = replies + 1, reply_chars = reply_chars + ? WHERE id = ?")
      .run(chars, runId);
  }

  finish(
    runId: number,
    status: "done" | "failed",
    now: number,
    failure?: { error: string; errorCode?: string },
  ): void {
    this.db
      .prepare("UPDATE task_runs SET status = ?, ended_at = ?, error = ?, error_code = ? WHERE id = ?")
      .run(status, now, failure?.error ?? null, failure?.errorCode ?? null, runId);
  }

  /**
   * Startup: runs left running. One that already replied counts as done ("interrupted after its reply");
   * one that did not goes back to queued, unless it was attempted twice already (then failed). Returns them.
   */
  recoverRunning(now: number): TaskRun[] {
    return this.db.transaction(() => {
      const running = this.db
        .prepare("SELECT id, replies, attempts FROM task_runs WHERE status = 'running' ORDER BY id")
        .all() as { id: number; replies: number; attempts: number }[];
      for (const r of running) {
        if (r.replies > 0) {
          this.finish(r.id, "done", now, { error: INTERRUPTED_AFTER_REPLY, errorCode: "INTERRUPTED" });
        } else if (r.attempts >= 2) {
          this.finish(r.id, "failed", now, { error: INTERRUPTED_TWICE, errorCode: "INTERRUPTED" });
        } else {
          this.db.prepare("UPDATE task_runs SET status = 'queued', started_at = NULL WHERE id = ?").run(r.id);
        }
      }
      return running.map((r) => this.get(r.id) as TaskRun);
    })();
  }

  /** A task's runs, newest first. */
  forTask(taskId: number, limit = 20): TaskRun[] {
    return (
      this.db
        .prepare("SELECT * FROM task_runs WHERE task_id = ? ORDER BY id DESC LIMIT ?")
        .all(taskId, limit) as RunRow[]
    ).map(toRun);
  }

  /** The newest failed runs of every task, newest first (`status` shows them). */
  recentFailures(limit: number): TaskRun[] {
    return (
      this.db
        .prepare("SELECT * FROM task_runs WHERE status = 'failed' ORDER BY id DESC LIMIT ?")
        .all(limit) as RunRow[]
    ).map(toRun);
  }
}
