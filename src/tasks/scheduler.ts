import type { Logger } from "../log.js";
import type { Store } from "../store/index.js";
import { nextRunAfter } from "./schedule.js";

/** The timer functions the scheduler uses; tests pass a fake clock's. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(timer: unknown): void;
}

/** setTimeout's largest delay; a later due time is reached by re-arming. */
const MAX_DELAY_MS = 2 ** 31 - 1;

/** What the scheduler is built from. */
export interface SchedulerOptions {
  store: Store;
  timezone: string;
  log: Logger;
  /** A run was queued for the chat: ask the chat's queue for a turn. */
  onDue: (chatId: string) => void;
  now?: () => number;
  timers?: Timers;
  /**
   * How often the earliest due time is read again, for tasks another process changed (the CLI
   * writes the store while the host runs); 0 turns it off. Default 10 s. Changes made through the
   * host (tools) re-arm at once.
   */
  recheckMs?: number;
}

/**
 * Fires due tasks from one exact timer armed at the earliest due time (no polling). A due task
 * queues one run in the store (never a second while one waits) and its next due time is set past
 * now in the same transaction, so downtime yields one catch-up run, never a burst.
 */
export class TaskScheduler {
  readonly #o: SchedulerOptions;
  readonly #now: () => number;
  readonly #timers: Timers;
  #timer: unknown = null;
  #recheck: unknown = null;
  #armedFor: number | null = null;
  #stopped = false;

  constructor(options: SchedulerOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#timers = options.timers ?? {
      setTimeout: (fn, ms) => {
        const t = setTimeout(fn, ms);
        t.unref();
        return t;
      },
      clearTimeout: (t) => clearTimeout(t as NodeJS.Timeout),
    };
  }

  /** Fires what came due while the host was down (once each), then arms the timer. */
  start(): void {
    this.#stopped = false;
    const caughtUp = this.#fireDue();
    if (caughtUp > 0)
      this.#o.log.info({ tasks: caughtUp }, "scheduled tasks due while the host was down run now");
    this.rearm();
    this.#scheduleRecheck();
  }

  #scheduleRecheck(): void {
    const every = this.#o.recheckMs ?? 10_000;
    if (every <= 0 || this.#stopped) return;
    this.#recheck = this.#timers.setTimeout(() => {
      this.#recheck = null;
      this.rearm();
      this.#scheduleRecheck();
    }, every);
  }

  /** Sets the one timer for the earliest due time; called after every change to the tasks. */
  rearm(): void {
    if (this.#stopped) return;
    const next = this.#o.store.tasks.nextDueAt();
    if (next === this.#armedFor && this.#timer !== null) return;
    this.#clear();
    if (next === null) return;
    const delay = Math.min(MAX_DELAY_MS, Math.max(0, next - this.#now()));
    this.#armedFor = next;
    this.#timer = this.#timers.setTimeout(() => this.#tick(), delay);
  }

  stop(): void {
    this.#stopped = true;
    this.#clear();
    if (this.#recheck !== null) this.#timers.clearTimeout(this.#recheck);
    this.#recheck = null;
  }

  #clear(): void {
    if (this.#timer !== null) this.#timers.clearTimeout(this.#timer);
    this.#timer = null;
    this.#armedFor = null;
  }

  #tick(): void {
    this.#timer = null;
    this.#armedFor = null;
    if (this.#stopped) return;
    try {
      this.#fireDue();
    } catch (err) {
      this.#o.log.error({ err }, "firing scheduled tasks failed");
    }
    this.rearm();
  }

  /** Queues a run for every due task; returns how many fired. */
  #fireDue(): number {
    const { store, timezone, log, onDue } = this.#o;
    const now = this.#now();
    const chats = new Set<string>();
    let fired = 0;
    for (const task of store.tasks.due(now)) {
      const dueAt = task.nextRunAt ?? now;
      let next: number | null;
      try {
        next = nextRunAfter(task.schedule, now, timezone, dueAt);
      } catch (err) {
        log.error({ err, taskId: task.id }, "a task's schedule cannot be evaluated; it is paused");
        store.tasks.update(task.id, { status: "paused", nextRunAt: null }, now);
        continue;
      }
      const run = store.taskRuns.fire(task.id, dueAt, next, now);
      if (run) {
        fired++;
        chats.add(task.chatId);
        log.info(
          { taskId: task.id, chatId: task.chatId, runId: run.id, nextRunAt: next },
          "scheduled task due",
        );
      } else {
        // fire() moved the due time on too; this keeps it so however fire() treats a skipped run.
        store.tasks.update(task.id, { nextRunAt: next }, now);
        log.warn(
          { taskId: task.id, chatId: task.chatId },
          "scheduled task due while its last run still waits: skipped",
        );
      }
    }
    for (const chatId of chats) onDue(chatId);
    return fired;
  }
}
