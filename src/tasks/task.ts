/** How a task's runs are timed: a 5-field cron expression, a fixed interval, or one time. */
export type ScheduleType = "cron" | "interval" | "once";
/** `group`: runs in the chat's conversation and session; `isolated`: a fresh session each run. */
export type ContextMode = "group" | "isolated";
/** `done` covers cancelled tasks and once-tasks that ran; `failed` a once-task whose run failed. */
export type TaskStatus = "active" | "paused" | "done" | "failed";

/**
 * A schedule as stored: cron = the 5-field expression as given (whitespace normalised);
 * interval = whole milliseconds as a decimal string; once = the due time as ms since epoch, decimal string.
 */
export interface Schedule {
  type: ScheduleType;
  value: string;
}

/** A scheduled task of one chat. */
export interface Task {
  id: number;
  chatId: string;
  prompt: string;
  schedule: Schedule;
  contextMode: ContextMode;
  status: TaskStatus;
  /** ms epoch; null when paused/done/failed or a once-task already fired. */
  nextRunAt: number | null;
  lastRunAt: number | null;
  /** The first 200 characters of the last run's reply. */
  lastResult: string | null;
  lastError: string | null;
  consecutiveFailures: number;
  /** "chat <chatId> (<sender name>)" or "cli". */
  createdBy: string;
  createdAt: number;
  updatedAt: number;
}

/** Where a task run stands: queued until the chat's queue takes it. */
export type RunStatus = "queued" | "running" | "done" | "failed";

/** One run of a task, logged from queueing to its end. */
export interface TaskRun {
  id: number;
  taskId: number;
  chatId: string;
  scheduledFor: number;
  status: RunStatus;
  queuedAt: number;
  startedAt: number | null;
  endedAt: number | null;
  error: string | null;
  errorCode: string | null;
  replies: number;
  replyChars: number;
  attempts: number;
}
