import { TaskInputError, TaskNotFoundError, TaskPermissionError } from "../errors.js";
import { type RegisteredChat, sanitizeName } from "../registration/chat.js";
import type { Store } from "../store/index.js";
import type { TaskPatch } from "../store/tasks.js";
import { nextRunAfter, parseSchedule } from "./schedule.js";
import type { ContextMode, Schedule, Task } from "./task.js";

/** Who asks: an agent in a chat (the host tools) or the owner at the command line. */
export type TaskActor = { kind: "chat"; chat: RegisteredChat; senderName?: string } | { kind: "cli" };

/** The limits from `config.tasks`. */
export interface TaskLimits {
  minIntervalMs: number;
  maxPerChat: number;
  maxFailures: number;
}

/** The longest prompt a task may carry. */
export const MAX_PROMPT_CHARS = 4000;

const CONTEXT_MODES: readonly ContextMode[] = ["group", "isolated"];
const ANOTHER_CHAT = "only the main chat may manage another chat's tasks";

/**
 * Creates and changes tasks with the checks every caller shares: who may touch which chat's tasks,
 * the limits, the validation. Every change calls `onChange` so the scheduler re-arms.
 */
export class TaskService {
  private readonly store: Store;
  private readonly timezone: string;
  private readonly limits: TaskLimits;
  private readonly now: () => number;
  private readonly onChange: () => void;

  constructor(o: {
    store: Store;
    timezone: string;
    limits: TaskLimits;
    now?: () => number;
    onChange?: () => void;
  }) {
    this.store = o.store;
    this.timezone = o.timezone;
    this.limits = o.limits;
    this.now = o.now ?? Date.now;
    this.onChange = o.onChange ?? (() => {});
  }

  /** A new active task; its first run is the schedule's first time after now. */
  schedule(
    actor: TaskActor,
    input: {
      prompt: string;
      scheduleType: string;
      scheduleValue: string;
      contextMode?: string;
      chatId?: string;
    },
  ): Task {
    const chatId = this.targetChat(actor, input.chatId);
    const prompt = checkPrompt(input.prompt);
    const contextMode = checkContextMode(input.contextMode);
    const now = this.now();
    const schedule = this.parse(input.scheduleType, input.scheduleValue, now);
    if (this.store.tasks.activeCount(chatId) >= this.limits.maxPerChat) {
      const who = actor.kind === "chat" && actor.chat.chatId === chatId ? "this chat" : `chat ${chatId}`;
      throw new TaskInputError(
        `${who} has ${this.limits.maxPerChat} tasks already (the limit): cancel one first`,
      );
    }
    const nextRunAt = nextRunAfter(schedule, now, this.timezone);
    // parseSchedule refuses schedules with no future run, so this is a broken invariant, not input.
    if (nextRunAt === null) throw new Error(`schedule ${schedule.type} ${schedule.value} has no next run`);
    const task = this.store.tasks.add({
      chatId,
      prompt,
      schedule,
      contextMode,
      nextRunAt,
      createdBy: createdBy(actor),
      now,
    });
    this.onChange();
    return task;
  }

  /**
   * Tasks by id, active and paused ones unless `all`. A chat sees its own; the main chat and the
   * CLI see the named chat's, or every chat's when none is named.
   */
  list(actor: TaskActor, chatId?: string, options: { all?: boolean } = {}): Task[] {
    let scope: string | undefined;
    if (chatId !== undefined) scope = this.targetChat(actor, chatId);
    else if (actor.kind === "chat" && !actor.chat.isMain) scope = actor.chat.chatId;
    const tasks = this.store.tasks.list(scope);
    return options.all ? tasks : tasks.filter((t) => t.status === "active" || t.status === "paused");
  }

  /** Stops an active task's runs until it is resumed (a queued run still runs). */
  pause(actor: TaskActor, taskId: number): Task {
    const task = this.visibleTask(actor, taskId);
    if (task.status === "paused") return task;
    if (task.status !== "active") throw finished(task, "paused");
    return this.change(task.id, { status: "paused", nextRunAt: null });
  }

  /** Restarts a paused task from now, with a clean failure count; a once-task whose time passed runs now. */
  resume(actor: TaskActor, taskId: number): Task {
    const task = this.visibleTask(actor, taskId);
    if (task.status === "active") return task;
    if (task.status !== "paused") throw finished(task, "resumed");
    const now = this.now();
    const nextRunAt = nextRunAfter(task.schedule, now, this.timezone) ?? now;
    return this.change(task.id, { status: "active", nextRunAt, consecutiveFailures: 0 });
  }

  /** Ends a task for good; it stays in the store (status done) for the record. */
  cancel(actor: TaskActor, taskId: number): Task {
    const task = this.visibleTask(actor, taskId);
    if (task.status === "done" || task.status === "failed") return task;
    return this.change(task.id, { status: "done", nextRunAt: null });
  }

  /**
   * Changes a task's prompt and/or schedule. A new schedule of an active task recomputes its next
   * run from now; a paused one gets it when resumed. `scheduleValue` alone keeps the schedule's type.
   */
  update(
    actor: TaskActor,
    input: { taskId: number; prompt?: string; scheduleType?: string; scheduleValue?: string },
  ): Task {
    const task = this.visibleTask(actor, input.taskId);
    if (task.status === "done" || task.status === "failed") {
      throw new TaskInputError(
        `task ${task.id} is ${task.status} and cannot be changed: schedule a new task instead`,
      );
    }
    if (input.prompt === undefined && input.scheduleType === undefined && input.scheduleValue === undefined) {
      throw new TaskInputError(
        "nothing to update: give prompt, schedule_value, or schedule_type with schedule_value",
      );
    }
    if (input.scheduleType !== undefined && input.scheduleValue === undefined) {
      throw new TaskInputError("schedule_type needs schedule_value too (the new schedule)");
    }
    const patch: TaskPatch = {};
    if (input.prompt !== undefined) patch.prompt = checkPrompt(input.prompt);
    if (input.scheduleValue !== undefined) {
      const now = this.now();
      patch.schedule = this.parse(input.scheduleType ?? task.schedule.type, input.scheduleValue, now);
      if (task.status === "active") patch.nextRunAt = nextRunAfter(patch.schedule, now, this.timezone);
    }
    return this.change(task.id, patch);
  }

  private change(id: number, patch: TaskPatch): Task {
    const task = this.store.tasks.update(id, patch, this.now());
    this.onChange();
    return task;
  }

  private parse(type: string, value: string, now: number): Schedule {
    return parseSchedule(type, value, now, {
      timezone: this.timezone,
      minIntervalMs: this.limits.minIntervalMs,
    });
  }

  /** The chat an action is for: the actor's own unless named; naming another needs the main chat or the CLI. */
  private targetChat(actor: TaskActor, named: string | undefined): string {
    // Models send "" for "no chat"; that is the actor's own.
    const chatId = named?.trim() || undefined;
    if (actor.kind === "cli") {
      if (chatId === undefined) throw new TaskInputError("name the chat the task is for (--chat <jid>)");
      return this.registered(chatId, 'run "npm run setup -- chats" to see them');
    }
    if (chatId === undefined || chatId === actor.chat.chatId) return actor.chat.chatId;
    if (!actor.chat.isMain) throw new TaskPermissionError(`${ANOTHER_CHAT}; this chat can only name itself`);
    return this.registered(chatId, "list_chats shows them");
  }

  private registered(chatId: string, hint: string): string {
    if (!this.store.chats.get(chatId)) {
      throw new TaskInputError(`chat ${chatId} is not registered (${hint})`);
    }
    return chatId;
  }

  /** The task, if the actor may see it. Another chat's task reads as missing, so nothing of it leaks. */
  private visibleTask(actor: TaskActor, taskId: number): Task {
    const task = this.store.tasks.get(taskId);
    const visible =
      task !== null && (actor.kind === "cli" || actor.chat.isMain || task.chatId === actor.chat.chatId);
    if (!task || !visible) throw new TaskNotFoundError(taskId);
    return task;
  }
}

function checkPrompt(prompt: string): string {
  const text = prompt.trim();
  if (text === "") throw new TaskInputError("prompt is empty: say what the task should do when it runs");
  if (text.length > MAX_PROMPT_CHARS) {
    throw new TaskInputError(
      `prompt is ${text.length} characters, more than the limit of ${MAX_PROMPT_CHARS}: shorten it`,
    );
  }
  return text;
}

function checkContextMode(mode: string | undefined): ContextMode {
  if (mode === undefined) return "group";
  if (!CONTEXT_MODES.includes(mode as ContextMode)) {
    throw new TaskInputError(`context_mode must be "group" or "isolated", got "${mode}"`);
  }
  return mode as ContextMode;
}

function createdBy(actor: TaskActor): string {
  if (actor.kind === "cli") return "cli";
  const sender = actor.senderName ? sanitizeName(actor.senderName, 60) : "";
  return sender ? `chat ${actor.chat.chatId} (${sender})` : `chat ${actor.chat.chatId}`;
}

function finished(task: Task, verb: string): TaskInputError {
  const why = task.status === "done" ? "done (cancelled or finished)" : "failed";
  return new TaskInputError(`task ${task.id} is ${why} and cannot be ${verb}: schedule a new task instead`);
}
