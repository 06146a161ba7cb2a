// The host tools as pi tools: one per name in src/protocol/host-tools.ts, with JSON-schema parameters
// matching its zod schemas (host-tools.test.ts checks they agree). Each call is checked here first, so
// a bad one is answered at once with what to fix; a good one goes to the host with the model's raw
// args, and the host's answer (or its refusal, thrown) is what the model sees.
import {
  CONTEXT_MODES,
  type HostToolName,
  parseHostToolArgs,
  REGISTER_CHANNELS,
  SCHEDULE_TYPES,
} from "../../../src/protocol/host-tools.js";
import type { PiTool } from "./pi-types.js";
import type { TurnSink } from "./runner-agent.js";

type JsonSchema = Record<string, unknown>;

interface ToolSpec {
  label: string;
  description: string;
  properties: Record<string, JsonSchema>;
  required: string[];
}

const chatId = (what: string): JsonSchema => ({
  type: "string",
  description: `${what} Omit for this chat; only the main chat may name another chat (list_chats shows them).`,
});
const taskId: JsonSchema = {
  type: "integer",
  minimum: 1,
  description: "The task's number, as list_tasks shows it (#3 -> 3).",
};
const scheduleType: JsonSchema = {
  type: "string",
  enum: [...SCHEDULE_TYPES],
  description:
    "cron: a recurring time of day/week; interval: every so often; once: a single run at a time (a reminder).",
};
const scheduleValue: JsonSchema = {
  type: "string",
  description:
    'For cron: 5 fields (minute hour day-of-month month day-of-week) in this chat\'s time zone, e.g. "0 8 * * 1-5" = weekdays at 08:00. ' +
    'For interval: a duration like "10m", "2h", "1d" or "1h30m" (at least the host\'s minimum, usually 1m). ' +
    'For once: a local time like "2026-12-24T08:00" (this chat\'s time zone; an offset like +01:00 or Z also works) or "in 10m".',
};
const prompt = (what: string): JsonSchema => ({
  type: "string",
  description: `${what} Write it as an instruction to yourself, complete on its own (you will not see this conversation when the task runs isolated).`,
});

const TOOLS: Record<HostToolName, ToolSpec> = {
  send_message: {
    label: "Send message",
    description:
      "Send a chat message right away, while you keep working: progress updates on long tasks, or " +
      "several separate messages. Your final answer is delivered automatically; do not repeat it here.",
    properties: {
      text: { type: "string", description: "The message text." },
      chatId: {
        type: "string",
        description:
          "Target chat id. Omit to send to the current chat (other chats only from the main chat).",
      },
    },
    required: ["text"],
  },
  schedule_task: {
    label: "Schedule task",
    description:
      "Schedule work for later or on repeat: reminders (once), daily or weekly routines (cron), recurring checks (interval). " +
      "When it is due you get the prompt as a <scheduled_task> turn and your answer goes to the chat. Returns the task's number and its next run.",
    properties: {
      prompt: prompt('What to do when the task is due, e.g. "Remind Anna to call the dentist."'),
      schedule_type: scheduleType,
      schedule_value: scheduleValue,
      context_mode: {
        type: "string",
        enum: [...CONTEXT_MODES],
        description:
          "group (default): the run sees this chat's conversation and adds to it; isolated: a fresh session each run, for self-contained checks.",
      },
      chat_id: chatId("The chat the task belongs to and answers in."),
    },
    required: ["prompt", "schedule_type", "schedule_value"],
  },
  list_tasks: {
    label: "List tasks",
    description:
      "List this chat's scheduled tasks (active and paused) with their numbers, schedules and next runs. " +
      "Use it before pausing, resuming, changing or cancelling a task, or when asked what is scheduled.",
    properties: {
      chat_id: chatId("The chat whose tasks to list; the main chat may omit it to list every chat's tasks."),
    },
    required: [],
  },
  pause_task: {
    label: "Pause task",
    description: "Pause a scheduled task: it stops running until resume_task.",
    properties: { task_id: taskId },
    required: ["task_id"],
  },
  resume_task: {
    label: "Resume task",
    description: "Resume a paused task; its next run is computed from now.",
    properties: { task_id: taskId },
    required: ["task_id"],
  },
  cancel_task: {
    label: "Cancel task",
    description: "Cancel a scheduled task for good (when someone no longer wants it).",
    properties: { task_id: taskId },
    required: ["task_id"],
  },
  update_task: {
    label: "Update task",
    description:
      "Change a task's prompt or schedule (give schedule_type and schedule_value together to change the schedule).",
    properties: {
      task_id: taskId,
      prompt: prompt("The new instruction."),
      schedule_type: scheduleType,
      schedule_value: scheduleValue,
    },
    required: ["task_id"],
  },
  register_chat: {
    label: "Register chat",
    description:
      "Main chat only: register a Telegram or WhatsApp chat so the assistant answers there, with a folder of its own.",
    properties: {
      channel: { type: "string", enum: [...REGISTER_CHANNELS], description: "The chat's platform." },
      jid: {
        type: "string",
        description:
          "The chat's id: tg:123456789 or tg:-1001234567890 on Telegram (/chatid tells it), 491701234567@s.whatsapp.net or ...@g.us on WhatsApp.",
      },
      name: { type: "string", description: "The chat's display name." },
      folder: {
        type: "string",
        description: "Its folder: 1-64 lowercase letters, digits, - or _, e.g. family-chat.",
      },
      trigger: {
        type: "string",
        description: "The word that calls the assistant there; default @<assistant name>.",
      },
      requires_trigger: {
        type: "boolean",
        description:
          "true (default): answer only messages that start with the trigger; false: answer every message.",
      },
    },
    required: ["channel", "jid", "name", "folder"],
  },
  list_chats: {
    label: "List chats",
    description: "Main chat only: list the registered chats with their ids, names and folders.",
    properties: {},
    required: [],
  },
};

/** The JSON-schema parameters of a host tool, as the model sees them. */
export function hostToolParameters(name: HostToolName): JsonSchema {
  const { properties, required } = TOOLS[name];
  return { type: "object", properties, required, additionalProperties: false };
}

/** Throws the message that says what to fix when `args` are not valid for the tool. */
function check(name: HostToolName, args: unknown): void {
  const checked = parseHostToolArgs(name, args);
  if (!checked.ok) throw new Error(checked.error);
}

/**
 * One pi tool per host tool; `sink` gives the running turn's sink (null between turns). The args are
 * checked in `prepareArguments`, which pi runs before its own JSON-schema check, so the model reads
 * our message (which names the fix) rather than pi's generic one; `execute` checks again.
 */
export function createHostTools(sink: () => TurnSink | null): PiTool[] {
  return (Object.keys(TOOLS) as HostToolName[]).map((name) => ({
    name,
    label: TOOLS[name].label,
    description: TOOLS[name].description,
    parameters: hostToolParameters(name),
    prepareArguments: (args) => {
      check(name, args);
      return args;
    },
    execute: async (_toolCallId, params, signal) => {
      const current = sink();
      if (!current) throw new Error(`${name} is only available during a turn`);
      check(name, params);
      const result = await current.callHostTool(name, params, signal ?? new AbortController().signal);
      if (!result.ok) throw new Error(result.error || `the host refused ${name}`);
      return { content: [{ type: "text", text: result.result || "done" }], details: {} };
    },
  }));
}
