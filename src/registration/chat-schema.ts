import { z } from "zod";
import { chatIdPatterns } from "../channels/channel.js";
import { MOUNT_NAME_PATTERN } from "../containers/mount-policy.js";
import { isValidFolder, RESERVED_FOLDERS, type RegisteredChat, sanitizeName } from "./chat.js";

/** What a chat id of each channel looks like, for messages that say how to fix one. */
export const CHAT_ID_HELP: Record<RegisteredChat["channel"], string> = {
  telegram:
    "Telegram chat ids look like tg:123456789 or tg:-1001234567890 (send /chatid to the bot to get it)",
  whatsapp:
    "WhatsApp chat ids look like 491701234567@s.whatsapp.net, 120363012345678901@g.us or 1234567890@lid",
  terminal: "terminal chat ids look like local:console",
};

/** Limits a chat may set for its container: [min, max, whole number]. */
export const LIMIT_RANGES = {
  memoryMb: [64, 1_048_576, true],
  cpus: [0.1, 256, false],
  pids: [16, 65_536, true],
  diskMb: [16, 16_777_216, true],
} as const satisfies Record<keyof NonNullable<RegisteredChat["limits"]>, readonly [number, number, boolean]>;

const limit = ([min, max, integer]: readonly [number, number, boolean]) => {
  const error = (i: { input: unknown }) =>
    `"${String(i.input)}" is out of range: use ${integer ? "a whole number" : "a number"} from ${min} to ${max}`;
  return z
    .number({ error })
    .refine((n) => n >= min && n <= max && (!integer || Number.isInteger(n)), { error })
    .optional();
};

/**
 * The one rule for a registered chat, whoever registers it (`setup register`, the terminal chat at
 * start): each message starts with the value and says what to use instead; the issue path names the field.
 */
export const registeredChatSchema = z
  .object({
    chatId: z.string(),
    channel: z.enum(["telegram", "whatsapp", "terminal"]),
    name: z
      .string()
      .min(1, "is required: the chat's display name")
      .max(100, "is longer than 100 characters: shorten it")
      .refine(
        (n) => sanitizeName(n) === n.trim(),
        "must be one line of text: remove line breaks and control characters",
      ),
    folder: z.string().refine(isValidFolder, {
      error: (i) =>
        `"${String(i.input)}" is not allowed: use 1-64 lowercase letters, digits, - or _, starting with a letter or digit (not ${RESERVED_FOLDERS.map((f) => `"${f}"`).join(", ")}), e.g. family-chat`,
    }),
    trigger: z.string().refine((t) => t !== "" && !/\s/.test(t) && t.length <= 64, {
      error: (i) => `"${String(i.input)}" is not allowed: use one word without spaces, e.g. @Andy`,
    }),
    requiresTrigger: z.boolean(),
    isMain: z.boolean(),
    allowedSenders: z.array(z.string().min(1)).nullable(),
    limits: z
      .object({
        memoryMb: limit(LIMIT_RANGES.memoryMb),
        cpus: limit(LIMIT_RANGES.cpus),
        pids: limit(LIMIT_RANGES.pids),
        diskMb: limit(LIMIT_RANGES.diskMb),
      })
      .strict()
      .nullable(),
    extraMounts: z.array(
      z.object({
        name: z
          .string()
          .regex(MOUNT_NAME_PATTERN, "is not a valid mount name: use 1-32 lowercase letters, digits, - or _"),
        hostPath: z.string().refine((p) => p.startsWith("/"), "must be an absolute path"),
        readOnly: z.boolean(),
      }),
    ),
    createdAt: z.number(),
  })
  .superRefine((chat, ctx) => {
    if (!chatIdPatterns[chat.channel].test(chat.chatId)) {
      ctx.addIssue({
        code: "custom",
        path: ["chatId"],
        message: `"${chat.chatId}" is not a ${chat.channel} chat id: ${CHAT_ID_HELP[chat.channel]}`,
      });
    }
  });

/** One problem with a chat to register: the field (`chatId`, `limits.cpus`, ...) and what is wrong. */
export interface ChatProblem {
  field: string;
  message: string;
}

/** Every problem of `chat` under {@link registeredChatSchema}; empty when it may be registered. */
export function chatProblems(chat: RegisteredChat): ChatProblem[] {
  const parsed = registeredChatSchema.safeParse(chat);
  if (parsed.success) return [];
  return parsed.error.issues.map((i) => ({ field: i.path.join("."), message: i.message }));
}
