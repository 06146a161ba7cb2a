// The host tools an agent may call over tool_call frames: their exact names and the zod schema of each
// one's arguments. Shared by the host (which enforces them) and the runner (which checks a model's call
// before sending it, so a bad call is answered at once). Bundled into the runner like frames.ts:
// free of side effects and of anything but zod.
import { z } from "zod";

/** Every host tool, by its exact name (prompts and skills rely on these). */
export const HOST_TOOL_NAMES = [
  "send_message",
  "schedule_task",
  "list_tasks",
  "pause_task",
  "resume_task",
  "cancel_task",
  "update_task",
  "register_chat",
  "list_chats",
] as const;
export type HostToolName = (typeof HOST_TOOL_NAMES)[number];

export const SCHEDULE_TYPES = ["cron", "interval", "once"] as const;
export const CONTEXT_MODES = ["group", "isolated"] as const;
/** Channels a chat can be registered on from the main chat (the terminal chat registers itself). */
export const REGISTER_CHANNELS = ["telegram", "whatsapp"] as const;

const text = z.string().regex(/\S/);
/** A task id; models often send numbers as strings, so a string of digits is accepted too. */
const taskId = z
  .union([
    z.number(),
    z
      .string()
      .regex(/^\d{1,16}$/)
      .transform(Number),
  ])
  .pipe(z.number().int().positive().lte(Number.MAX_SAFE_INTEGER));

/** Arguments of the `send_message` host tool. */
export const SendMessageArgsSchema = z.strictObject({
  text,
  chatId: z.string().min(1).optional(),
});

/** Arguments of `schedule_task`. */
export const ScheduleTaskArgsSchema = z.strictObject({
  prompt: text,
  schedule_type: z.enum(SCHEDULE_TYPES),
  schedule_value: text,
  context_mode: z.enum(CONTEXT_MODES).optional(),
  chat_id: text.optional(),
});

/** Arguments of `list_tasks`. */
export const ListTasksArgsSchema = z.strictObject({ chat_id: text.optional() });

/** Arguments of `pause_task`, `resume_task` and `cancel_task`. */
export const TaskIdArgsSchema = z.strictObject({ task_id: taskId });

/** Arguments of `update_task`: the task and at least one thing to change. */
export const UpdateTaskArgsSchema = z
  .strictObject({
    task_id: taskId,
    prompt: text.optional(),
    schedule_type: z.enum(SCHEDULE_TYPES).optional(),
    schedule_value: text.optional(),
  })
  .refine((a) => a.prompt !== undefined || a.schedule_type !== undefined || a.schedule_value !== undefined, {
    error: "give at least one of prompt, schedule_type and schedule_value to change",
  });

/** Arguments of `register_chat` (main chat only; the host validates them with the one chat schema). */
export const RegisterChatArgsSchema = z.strictObject({
  channel: z.enum(REGISTER_CHANNELS),
  jid: text,
  name: text,
  folder: text,
  trigger: text.optional(),
  requires_trigger: z.boolean().optional(),
});

/** Arguments of `list_chats`: none. */
export const ListChatsArgsSchema = z.strictObject({});

/** The argument schema of every host tool. */
export const HOST_TOOL_ARGS = {
  send_message: SendMessageArgsSchema,
  schedule_task: ScheduleTaskArgsSchema,
  list_tasks: ListTasksArgsSchema,
  pause_task: TaskIdArgsSchema,
  resume_task: TaskIdArgsSchema,
  cancel_task: TaskIdArgsSchema,
  update_task: UpdateTaskArgsSchema,
  register_chat: RegisterChatArgsSchema,
  list_chats: ListChatsArgsSchema,
} as const satisfies Record<HostToolName, z.ZodType>;

export type SendMessageArgs = z.infer<typeof SendMessageArgsSchema>;
export type ScheduleTaskArgs = z.infer<typeof ScheduleTaskArgsSchema>;
export type ListTasksArgs = z.infer<typeof ListTasksArgsSchema>;
export type TaskIdArgs = z.infer<typeof TaskIdArgsSchema>;
export type UpdateTaskArgs = z.infer<typeof UpdateTaskArgsSchema>;
export type RegisterChatArgs = z.infer<typeof RegisterChatArgsSchema>;
/** The parsed (normalised: task_id a number) arguments of each host tool. */
export type HostToolArgs = { [N in HostToolName]: z.output<(typeof HOST_TOOL_ARGS)[N]> };

/** What each argument must be, written for the model that got it wrong. */
const FIELD_RULES: Record<string, string> = {
  text: "must be the message text (not empty)",
  chatId: "must be a chat id (list_chats shows them) or be left out for this chat",
  prompt: "must be the instruction to carry out when the task is due (not empty)",
  schedule_type: 'must be "cron", "interval" or "once"',
  schedule_value:
    'must be the schedule: 5 cron fields like "0 8 * * 1-5", an interval like "10m" or "2h", or a time like "2026-12-24T08:00" or "in 10m"',
  context_mode: 'must be "group" (sees this chat\'s conversation) or "isolated" (a fresh session each run)',
  chat_id: "must be a chat id (list_chats shows them) or be left out for this chat",
  task_id: "must be a positive whole number: the task's # from list_tasks",
  channel: 'must be "telegram" or "whatsapp"',
  jid: "must be the chat's id, e.g. tg:123456789 or 491701234567@s.whatsapp.net",
  name: "must be the chat's display name",
  folder: "must be the chat's folder name, e.g. family-chat",
  trigger: "must be the word that calls the assistant, e.g. @Andy, or be left out",
  requires_trigger:
    "must be true (answer only messages that start with the trigger) or false (answer every message), or be left out",
};

/** The outcome of {@link parseHostToolArgs}: the parsed arguments, or a message naming the field and the fix. */
export type HostToolArgsResult<A> = { ok: true; args: A } | { ok: false; error: string };

/** True when `name` is one of {@link HOST_TOOL_NAMES}. */
export function isHostToolName(name: string): name is HostToolName {
  return (HOST_TOOL_NAMES as readonly string[]).includes(name);
}

/**
 * Checks a host tool's arguments. Never throws; the error names the tool, the field and what to use,
 * e.g. `schedule_task: schedule_type must be "cron", "interval" or "once" (got "daily")`.
 */
export function parseHostToolArgs<N extends HostToolName>(
  name: N,
  args: unknown,
): HostToolArgsResult<HostToolArgs[N]>;
export function parseHostToolArgs(name: string, args: unknown): HostToolArgsResult<unknown>;
export function parseHostToolArgs(name: string, args: unknown): HostToolArgsResult<unknown> {
  if (!isHostToolName(name))
    return { ok: false, error: `unknown host tool "${name}": use one of ${HOST_TOOL_NAMES.join(", ")}` };
  if (typeof args !== "object" || args === null || Array.isArray(args))
    return { ok: false, error: `${name}: the arguments must be an object of named fields` };
  const schema = HOST_TOOL_ARGS[name];
  const parsed = schema.safeParse(args);
  if (parsed.success) return { ok: true, args: parsed.data };
  const given = args as Record<string, unknown>;
  const fields = Object.keys(schema.shape);
  const messages = new Set<string>();
  for (const issue of parsed.error.issues) {
    const field = issue.path[0];
    if (issue.code === "unrecognized_keys") {
      const takes = fields.length > 0 ? `${name} takes ${fields.join(", ")}` : `${name} takes no arguments`;
      messages.add(`unknown field ${issue.keys.map((k) => `"${k}"`).join(", ")}: ${takes}`);
    } else if (typeof field === "string") {
      const rule = FIELD_RULES[field] ?? "is not valid";
      const value = given[field];
      messages.add(
        value === undefined ? `${field} is required: it ${rule}` : `${field} ${rule} (got ${shown(value)})`,
      );
    } else {
      messages.add(issue.message);
    }
  }
  return { ok: false, error: `${name}: ${[...messages].join("; ")}` };
}

function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
