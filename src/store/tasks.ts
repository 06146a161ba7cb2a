import type { ContextMode, Schedule, Task, TaskStatus } from "../tasks/task.js";
import type { Db } from "./db.js";

import { missing } from "./task-runs.js";

export { INTERRUPTED_AFTER_REPLY, INTERRUPTED_TWICE, TaskRunsTable } from "./task-runs.js";

/** How much of a run's reply a task keeps as its last result. */
export const LAST_RESULT_CHARS = 200;

interface TaskRow {
  id: number;
  chat_id: string;
  prompt: string;
  schedule_type: Schedule["type"];
  schedule_value: string;
  context_mode: ContextMode;
  status: TaskStatus;
  next_run_at: number | null;
  last_run_at: number | null;
  last_result: string | null;
  last_error: string | null;
  consecutive_failures: number;
  created_by: string;
  created_at: number;
  updated_at: number;
}

const toTask = (r: TaskRow): Task => ({
  id: r.id,
  chatId: r.chat_id,
  prompt: r.prompt,
  schedule: { type: r.schedule_type, value: r.schedule_value },
  contextMode: r.context_mode,
  status: r.status,
  nextRunAt: r.next_run_at,
  lastRunAt: r.last_run_at,
  lastResult: r.last_result,
  lastError: r.last_error,
  consecutiveFailures: r.consecutive_failures,
  createdBy: r.created_by,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/** What {@link TasksTable.update} may change. */
export type TaskPatch = Partial<
  Pick<Task, "prompt" | "schedule" | "status" | "nextRunAt" | "consecutiveFailures">
>;

/** Scheduled tasks, one row per task; cancelled and finished ones stay for the record. */
export class TasksTable {
  constructor(private readonly db: Db) {}

  add(t: {
    chatId: string;
    prompt: string;
    schedule: Schedule;
    contextMode: ContextMode;
    nextRunAt: number;
    createdBy: string;
    now: number;
  }): Task {
    const info = this.db
      .prepare(
        `INSERT INTO tasks (chat_id, prompt, schedule_type, schedule_value, context_mode, status, next_run_at,
          created_by, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, 'active', ?, ?, ?, ?)`,
      )
      .run(
        t.chatId,
        t.prompt,
        t.schedule.type,
        t.schedule.value,
        t.contextMode,
        t.nextRunAt,
        t.createdBy,
        t.now,
        t.now,
      );
    return this.must(Number(info.lastInsertRowid));
  }

  get(id: number): Task | null {
    const r = this.db.prepare("SELECT * FROM tasks WHERE id = ?").get(id) as TaskRow | undefined;
    return r ? toTask(r) : null;
  }

  /** Every task (of one chat, when given), by id, whatever its status. */
  list(chatId?: string): Task[] {
    const rows =
      chatId === undefined
        ? this.db.prepare("SELECT * FROM tasks ORDER BY id").all()
        : this.db.prepare("SELECT * FROM tasks WHERE chat_id = ? ORDER BY id").all(chatId);
    return (rows as TaskRow[]).map(toTask);
  }

  /** Tasks that count against the per-chat limit: active or paused. */
  activeCount(chatId: string): number {
    const r = this.db
      .prepare("SELECT COUNT(*) AS n FROM tasks WHERE chat_id = ? AND status IN ('active', 'paused')")
      .get(chatId) as { n: number };
    return r.n;
  }

  update(id: number, patch: TaskPatch, now: number): Task {
    const sets: string[] = [];
    const values: unknown[] = [];
    const set = (column: string, value: unknown) => {
      sets.push(`${column} = ?`);
      values.push(value);
    };
    if (patch.prompt !== undefined) set("prompt", patch.prompt);
    if (patch.schedule !== undefined) {
      set("schedule_type", patch.schedule.type);
      set("schedule_value", patch.schedule.value);
    }
    if (patch.status !== undefined) set("status", patch.status);
    if (patch.nextRunAt !== undefined) set("next_run_at", patch.nextRunAt);
    if (patch.consecutiveFailures !== undefined) set("consecutive_failures", patch.consecutiveFailures);
    set("updated_at", now);
    const changed = this.db
      .prepare(`UPDATE tasks SET ${sets.join(", ")} WHERE id = ?`)
      .run(...values, id).changes;
    if (changed === 0) throw missing(id);
    return this.must(id);
  }

  /** Active tasks due at `now`, earliest first. */
  due(now: number): Task[] {
    return (
      this.db
        .prepare("SELECT * FROM tasks WHERE status = 'active' AND next_run_at <= ? ORDER BY next_run_at, id")
        .all(now) as TaskRow[]
    ).map(toTask);
  }

  /** When the next active task is due, or null when none is. */
  nextDueAt(): number | null {
    const r = this.db
      .prepare("SELECT MIN(next_run_at) AS at FROM tasks WHERE status = 'active' AND next_run_at IS NOT NULL")
      .get() as { at: number | null };
    return r.at;
  }

  /** A run answered: failures back to 0, the result kept; a once-task is then done. */
  recordSuccess(id: number, now: number, result: string): Task {
    const changed = this.db
      .prepare(
        `UPDATE tasks SET consecutive_failures = 0, last_run_at = ?, last_result = ?, last_error = NULL,
          updated_at = ?,
          status = CASE WHEN schedule_type = 'once' AND status IN ('active', 'paused') THEN 'done' ELSE status END,
          next_run_at = CASE WHEN schedule_type = 'once' THEN NULL ELSE next_run_at END
         WHERE id = ?`,
      )
      .run(now, result.slice(0, LAST_RESULT_CHARS), now, id).changes;
    if (changed === 0) throw missing(id);
    return this.must(id);
  }

  /**
   * A run failed: failures + 1. At `maxFailures` in a row an active task is paused (`paused: true`, so
   * the chat can be told once); a once-task has no next run and is failed at once.
   */
  recordFailure(
    id: number,
    now: number,
    error: string,
    maxFailures: number,
  ): { task: Task; paused: boolean } {
    return this.db.transaction(() => {
      const before = this.get(id);
      if (!before) throw missing(id);
      const failures = before.consecutiveFailures + 1;
      const open = before.status === "active" || before.status === "paused";
      let status = before.status;
      let nextRunAt = before.nextRunAt;
      let paused = false;
      if (before.schedule.type === "once") {
        if (open) status = "failed";
        nextRunAt = null;
      } else if (before.status === "active" && failures >= maxFailures) {
        status = "paused";
        nextRunAt = null;
        paused = true;
      }
      this.db
        .prepare(
          `UPDATE tasks SET consecutive_failures = ?, last_run_at = ?, last_error = ?, status = ?,
            next_run_at = ?, updated_at = ? WHERE id = ?`,
        )
        .run(failures, now, error, status, nextRunAt, now, id);
      return { task: this.must(id), paused };
    })();
  }

  private must(id: number): Task {
    const t = this.get(id);
    if (!t) throw missing(id);
    return t;
  }
}
