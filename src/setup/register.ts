import path from "node:path";
import { chatIdPatterns } from "../channels/channel.js";
import type { CommandSpec, ParseArgsOptionsConfig, ParsedCommand } from "../cli/args.js";
import {
  checkExtraMounts,
  type ExtraMount,
  MOUNT_NAME_PATTERN,
  type MountPolicy,
  MountRefusedError,
} from "../containers/mount-policy.js";
import { UsageError } from "../errors.js";
import { isValidFolder, RESERVED_FOLDERS, type RegisteredChat, sanitizeName } from "../registration/chat.js";
import type { RegisterRequest } from "../registration/register-chat.js";

const CHANNELS = {
  telegram: "telegram",
  whatsapp: "whatsapp",
  terminal: "terminal",
  local: "terminal",
} as const;

const JID_HELP: Record<RegisteredChat["channel"], string> = {
  telegram:
    "Telegram chat ids look like tg:123456789 or tg:-1001234567890 (send /chatid to the bot to get it)",
  whatsapp:
    "WhatsApp chat ids look like 491701234567@s.whatsapp.net, 120363012345678901@g.us or 1234567890@lid",
  terminal: "terminal chat ids look like local:console",
};

/** `setup register`'s flags and help. */
export const REGISTER = {
  name: "setup register",
  usage: `Usage: npm run setup -- register --channel telegram|whatsapp|terminal --jid <chat id> --name <name>
       --folder <folder> [flags]

Registers a chat; validates everything and writes nothing on error.

Flags:
  --trigger <word>          the word that wakes the assistant in a group (default @<assistant name>)
  --assistant-name <name>   the assistant's name in this chat (default ASSISTANT_NAME)
  --is-main                 the main chat (answers every message, may message other chats)
  --no-trigger-required     answer every message, not only those starting with the trigger
  --allow-sender <id>       only these senders may wake the assistant (repeatable)
  --memory-mb, --cpus, --pids, --disk-mb <n>   this chat's container limits
  --mount name=/host/folder[:ro|:rw]           an extra mount (repeatable; see the mount allowlist)
  --json                    print the registered chat as JSON
`,
  options: {
    channel: { type: "string" },
    jid: { type: "string" },
    name: { type: "string" },
    folder: { type: "string" },
    trigger: { type: "string" },
    "assistant-name": { type: "string" },
    "is-main": { type: "boolean" },
    "no-trigger-required": { type: "boolean" },
    "allow-sender": { type: "string", multiple: true },
    mount: { type: "string", multiple: true },
    "memory-mb": { type: "string" },
    cpus: { type: "string" },
    pids: { type: "string" },
    "disk-mb": { type: "string" },
  },
  json: true,
} satisfies CommandSpec<ParseArgsOptionsConfig>;

/** Validates parsed `setup register` flags; throws a UsageError naming the bad flag and the fix. */
export function parseRegister(
  values: ParsedCommand<typeof REGISTER.options>["values"],
  defaults: { assistantName: string; now: number; mountPolicy: MountPolicy },
): RegisterRequest {
  const flags = values as Record<string, unknown>;
  const str = (k: string) => (typeof flags[k] === "string" ? (flags[k] as string).trim() : undefined);
  const channelFlag = str("channel");
  if (!channelFlag) throw new UsageError("--channel is required: use telegram, whatsapp or terminal");
  const channel = CHANNELS[channelFlag as keyof typeof CHANNELS];
  if (!channel)
    throw new UsageError(`--channel "${channelFlag}" is not a channel: use telegram, whatsapp or terminal`);
  const jid = str("jid");
  if (!jid) throw new UsageError(`--jid is required: ${JID_HELP[channel]}`);
  if (!chatIdPatterns[channel].test(jid))
    throw new UsageError(`--jid "${jid}" is not a ${channel} chat id: ${JID_HELP[channel]}`);
  const name = str("name");
  if (!name) throw new UsageError('--name is required: the chat\'s display name, e.g. --name "Family"');
  if (name.length > 100) throw new UsageError("--name is longer than 100 characters: shorten it");
  if (sanitizeName(name) !== name.trim())
    throw new UsageError("--name must be one line of text: remove line breaks and control characters");
  const folder = str("folder");
  if (!folder)
    throw new UsageError("--folder is required: a folder name under data/groups/, e.g. --folder family");
  if (!isValidFolder(folder)) {
    const reserved = RESERVED_FOLDERS.map((f) => `"${f}"`).join(", ");
    throw new UsageError(
      `--folder "${folder}" is not allowed: use 1-64 lowercase letters, digits, - or _, starting with a letter or digit (not ${reserved}), e.g. --folder family-chat`,
    );
  }
  const assistantName = str("assistant-name") ?? defaults.assistantName;
  if (!/^[A-Za-z][A-Za-z0-9_-]{0,31}$/.test(assistantName)) {
    throw new UsageError(
      `--assistant-name "${assistantName}" is not allowed: use one word of letters, digits, - or _`,
    );
  }
  const trigger = str("trigger") ?? `@${assistantName}`;
  if (trigger === "" || /\s/.test(trigger) || trigger.length > 64) {
    throw new UsageError(
      `--trigger "${trigger}" is not allowed: use one word without spaces, e.g. --trigger @${assistantName}`,
    );
  }
  const allowed = values["allow-sender"];
  return {
    assistantName,
    chat: {
      chatId: jid,
      channel,
      name,
      folder,
      trigger,
      requiresTrigger: values["no-trigger-required"] !== true,
      isMain: values["is-main"] === true,
      allowedSenders: allowed && allowed.length > 0 ? allowed : null,
      limits: parseLimits(str),
      extraMounts: parseMounts(values.mount ?? [], defaults.mountPolicy),
      createdAt: defaults.now,
    },
  };
}

function numberFlag(
  flag: string,
  raw: string | undefined,
  min: number,
  max: number,
  integer: boolean,
): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw new UsageError(
      `--${flag} "${raw}" is out of range: use ${integer ? "a whole number" : "a number"} from ${min} to ${max}`,
    );
  }
  return n;
}

function parseLimits(str: (k: string) => string | undefined): RegisteredChat["limits"] {
  const limits = {
    memoryMb: numberFlag("memory-mb", str("memory-mb"), 64, 1_048_576, true),
    cpus: numberFlag("cpus", str("cpus"), 0.1, 256, false),
    pids: numberFlag("pids", str("pids"), 16, 65_536, true),
    diskMb: numberFlag("disk-mb", str("disk-mb"), 16, 16_777_216, true),
  };
  const set = Object.fromEntries(Object.entries(limits).filter(([, v]) => v !== undefined));
  return Object.keys(set).length > 0 ? set : null;
}

/** `--mount name=/abs/host/path[:ro|:rw]`, syntax only: {@link checkExtraMounts} decides what may be mounted. */
function parseMount(spec: string): ExtraMount {
  const m = /^([^=]*)=(\/[^:]*)(?::(ro|rw))?$/.exec(spec);
  if (!m) {
    throw new UsageError(
      `--mount "${spec}" is not valid: use name=/absolute/host/path with an optional :ro or :rw, e.g. --mount notes=/home/me/notes:ro`,
    );
  }
  const [, name, hostPath, mode] = m as unknown as [string, string, string, string | undefined];
  if (!MOUNT_NAME_PATTERN.test(name)) {
    throw new UsageError(
      `--mount "${spec}": the name "${name}" is not valid: use 1-32 lowercase letters, digits, - or _ (it becomes /workspace/extra/<name>)`,
    );
  }
  return { name, hostPath: path.resolve(hostPath), readOnly: mode !== "rw" };
}

/** Parses every `--mount` and applies the mount rule; the stored paths are the real ones. */
function parseMounts(specs: string[], policy: MountPolicy): ExtraMount[] {
  const mounts = specs.map(parseMount);
  const seen = new Set<string>();
  for (const [i, m] of mounts.entries()) {
    if (seen.has(m.name)) throw new UsageError(`--mount "${specs[i]}": the name "${m.name}" is used twice`);
    seen.add(m.name);
  }
  try {
    return checkExtraMounts(mounts, policy);
  } catch (err) {
    if (!(err instanceof MountRefusedError)) throw err;
    const spec = specs[mounts.findIndex((m) => m.name === err.mount)] ?? specs[0];
    throw new UsageError(`--mount "${spec}" is refused: ${err.message}`, { cause: err });
  }
}
