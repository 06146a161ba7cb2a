import path from "node:path";
import type { CommandSpec, ParseArgsOptionsConfig, ParsedCommand } from "../cli/args.js";
import {
  checkExtraMounts,
  type ExtraMount,
  MOUNT_NAME_PATTERN,
  type MountPolicy,
  MountRefusedError,
} from "../containers/mount-policy.js";
import { UsageError } from "../errors.js";
import type { RegisteredChat } from "../registration/chat.js";
import { CHAT_ID_HELP, type ChatProblem, chatProblems } from "../registration/chat-schema.js";
import type { RegisterRequest } from "../registration/register-chat.js";

const CHANNELS = {
  telegram: "telegram",
  whatsapp: "whatsapp",
  terminal: "terminal",
  local: "terminal",
} as const;

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
  defaults: { assistantName: string; now: number; mountPolicy: MountPolicy; groupsDir?: string },
): RegisterRequest {
  const flags = values as Record<string, unknown>;
  const str = (k: string) => (typeof flags[k] === "string" ? (flags[k] as string).trim() : undefined);
  const channelFlag = str("channel");
  if (!channelFlag) throw new UsageError("--channel is required: use telegram, whatsapp or terminal");
  const channel = CHANNELS[channelFlag as keyof typeof CHANNELS];
  if (!channel)
    throw new UsageError(`--channel "${channelFlag}" is not a channel: use telegram, whatsapp or terminal`);
  const jid = str("jid");
  if (!jid) throw new UsageError(`--jid is required: ${CHAT_ID_HELP[channel]}`);
  const name = str("name");
  if (!name) throw new UsageError('--name is required: the chat\'s display name, e.g. --name "Family"');
  const folder = str("folder");
  if (!folder)
    throw new UsageError(
      `--folder is required: a folder name under ${defaults.groupsDir ?? "data/groups"}/, e.g. --folder family`,
    );
  const assistantName = str("assistant-name") ?? defaults.assistantName;
  if (!/^[A-Za-z][A-Za-z0-9_-]{0,31}$/.test(assistantName)) {
    throw new UsageError(
      `--assistant-name "${assistantName}" is not allowed: use one word of letters, digits, - or _`,
    );
  }
  const trigger = str("trigger") ?? `@${assistantName}`;
  const allowed = values["allow-sender"];
  const chat: RegisteredChat = {
    chatId: jid,
    channel,
    name,
    folder,
    trigger,
    requiresTrigger: values["no-trigger-required"] !== true,
    isMain: values["is-main"] === true,
    allowedSenders: allowed && allowed.length > 0 ? allowed : null,
    limits: parseLimits(str),
    extraMounts: [],
    createdAt: defaults.now,
  };
  const problems = chatProblems(chat);
  if (problems.length > 0) throw new UsageError(problems.map((p) => asFlag(p, str)).join("; "));
  return {
    assistantName,
    chat: { ...chat, extraMounts: parseMounts(values.mount ?? [], defaults.mountPolicy) },
  };
}

/** The flag each field of a chat comes from. */
const FLAGS: Record<string, string> = {
  chatId: "jid",
  name: "name",
  folder: "folder",
  trigger: "trigger",
  "limits.memoryMb": "memory-mb",
  "limits.cpus": "cpus",
  "limits.pids": "pids",
  "limits.diskMb": "disk-mb",
};

/** A schema problem said in terms of the flag, with the value as typed (`--cpus "lots" is out of range`). */
export function asFlag(p: ChatProblem, str: (k: string) => string | undefined): string {
  const flag = FLAGS[p.field] ?? p.field;
  const typed = str(flag);
  const message = typed === undefined ? p.message : p.message.replace(/^"[^"]*"/, JSON.stringify(typed));
  return `--${flag} ${message}`;
}

function parseLimits(str: (k: string) => string | undefined): RegisteredChat["limits"] {
  const limits: NonNullable<RegisteredChat["limits"]> = {};
  for (const [field, flag] of [
    ["memoryMb", "memory-mb"],
    ["cpus", "cpus"],
    ["pids", "pids"],
    ["diskMb", "disk-mb"],
  ] as const) {
    const raw = str(flag);
    if (raw !== undefined) limits[field] = raw === "" ? Number.NaN : Number(raw);
  }
  return Object.keys(limits).length > 0 ? limits : null;
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
