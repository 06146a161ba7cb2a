import { TaskInputError, TaskPermissionError } from "../errors.js";
import { parseHostToolArgs } from "../protocol/host-tools.js";
import type { RegisteredChat } from "../registration/chat.js";
import type { Store } from "../store/index.js";
import { describeRun, describeSchedule } from "./schedule.js";
import type { TaskService } from "./service.js";
import type { Task } from "./task.js";

/** What `register_chat` asks for, after its arguments were checked. */
export interface RegisterChatInput {
  channel: "telegram" | "whatsapp";
  jid: string;
  name: string;
  folder: string;
  trigger?: string;
  requiresTrigger?: boolean;
}

/** What the task and chat tools are built from. */
export interface TaskToolsOptions {
  service: TaskService;
  store: Store;
  /** Registers a chat through the one chat schema (`setup register`'s rules); throws what is wrong. */
  registerChat: (input: RegisterChatInput) => RegisteredChat;
  timezone: string;
  now?: () => number;
}

/** One host tool call as the agent container hands it over. */
export interface HostToolCall {
  name: string;
  args: Record<string, unknown>;
}

type Args = Record<string, unknown>;

/**
 * The host side of the task tools and the main chat's chat tools. Returns null for a tool it does
 * not handle (send_message); otherwise the text the model reads, or a rejection whose message says
 * what to fix.
 */
export function createTaskTools(o: TaskToolsOptions) {
  const now = o.now ?? Date.now;
  const line = (t: Task) => taskLine(t, o.timezone, now());
  const handlers: Record<string, (chat: RegisteredChat, a: Args) => string> = {
    schedule_task: (chat, a) => {
      const task = o.service.schedule(actor(chat), {
        prompt: String(a.prompt ?? ""),
        scheduleType: String(a.schedule_type ?? ""),
        scheduleValue: String(a.schedule_value ?? ""),
        ...(a.context_mode === undefined ? {} : { contextMode: String(a.context_mode) }),
        ...(a.chat_id === undefined ? {} : { chatId: String(a.chat_id) }),
      });
      return `task ${task.id} scheduled for ${task.chatId}: ${scheduleText(task, o.timezone)}, ${nextText(task, o.timezone, now())}`;
    },
    list_tasks: (chat, a) => {
      const tasks = o.service.list(actor(chat), a.chat_id === undefined ? undefined : String(a.chat_id));
      return tasks.length === 0 ? "no tasks" : tasks.map(line).join("\n");
    },
    pause_task: (chat, a) => `paused: ${line(o.service.pause(actor(chat), taskId(a)))}`,
    resume_task: (chat, a) => `resumed: ${line(o.service.resume(actor(chat), taskId(a)))}`,
    cancel_task: (chat, a) => `cancelled task ${o.service.cancel(actor(chat), taskId(a)).id}`,
    update_task: (chat, a) => {
      const task = o.service.update(actor(chat), {
        taskId: taskId(a),
        ...(a.prompt === undefined ? {} : { prompt: String(a.prompt) }),
        ...(a.schedule_type === undefined ? {} : { scheduleType: String(a.schedule_type) }),
        ...(a.schedule_value === undefined ? {} : { scheduleValue: String(a.schedule_value) }),
      });
      return `updated: ${line(task)}`;
    },
    register_chat: (chat, a) => {
      mainOnly(chat, "register chats");
      const registered = o.registerChat({
        channel: a.channel as RegisterChatInput["channel"],
        jid: String(a.jid ?? ""),
        name: String(a.name ?? ""),
        folder: String(a.folder ?? ""),
        ...(a.trigger === undefined ? {} : { trigger: String(a.trigger) }),
        ...(a.requires_trigger === undefined ? {} : { requiresTrigger: a.requires_trigger === true }),
      });
      const how = registered.requiresTrigger
        ? `answers messages starting with ${registered.trigger}`
        : "answers every message";
      return `registered ${registered.chatId} "${registered.name}" in folder ${registered.folder} (${how})`;
    },
    list_chats: (chat) => {
      mainOnly(chat, "list chats");
      return o.store.chats
        .list()
        .map(
          (c) =>
            `${c.chatId} · "${c.name}" · folder ${c.folder} · ${c.isMain ? "main" : c.requiresTrigger ? `trigger ${c.trigger}` : "every message"}`,
        )
        .join("\n");
    },
  };
  return (chat: RegisteredChat, call: HostToolCall): Promise<string> | null => {
    const handler = handlers[call.name];
    if (!handler) return null;
    return (async () => {
      const parsed = parseHostToolArgs(call.name, call.args);
      if (!parsed.ok) throw new TaskInputError(parsed.error);
      return handler(chat, parsed.args as Args);
    })();
  };
}

const actor = (chat: RegisteredChat) => ({ kind: "chat" as const, chat });

function mainOnly(chat: RegisteredChat, what: string): void {
  if (!chat.isMain) throw new TaskPermissionError(`only the main chat may ${what}`);
}

function taskId(a: Args): number {
  const id = Number(a.task_id);
  if (!Number.isInteger(id) || id < 1)
    throw new TaskInputError("task_id must be a task number from list_tasks");
  return id;
}

function nextText(task: Task, timezone: string, now: number): string {
  if (task.status !== "active") return "no next run";
  return task.nextRunAt === null ? "running now" : `next run ${describeRun(task.nextRunAt, now, timezone)}`;
}

/** The schedule in words; a once-task's time is already in its next run. */
const scheduleText = (task: Task, timezone: string) =>
  task.schedule.type === "once" && task.status === "active" && task.nextRunAt !== null
    ? "once"
    : describeSchedule(task.schedule, timezone);

/** One task for a list: `#3 active · every 10m · next run in 9 min, ... · "check the page"`. */
export function taskLine(task: Task, timezone: string, now: number): string {
  const prompt = task.prompt.length > 80 ? `${task.prompt.slice(0, 77)}...` : task.prompt;
  const parts = [
    `#${task.id} ${task.status}`,
    scheduleText(task, timezone),
    task.contextMode,
    ...(task.status === "active" ? [nextText(task, timezone, now)] : []),
    `chat ${task.chatId}`,
  ];
  if (task.lastError && task.consecutiveFailures > 0)
    parts.push(`failed ${task.consecutiveFailures}x: ${task.lastError.slice(0, 120)}`);
  return `${parts.join(" · ")} · ${JSON.stringify(prompt)}`;
}
