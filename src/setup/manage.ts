import path from "node:path";
import { type CommandSpec, defineCommand, type ParseArgsOptionsConfig } from "../cli/args.js";
import { EXIT } from "../cli/io.js";
import { chatVolumeNames, removeChatVolumes } from "../containers/chat-volumes.js";
import { loadContext } from "../context.js";
import { UsageError } from "../errors.js";
import {
  type ChatChanges,
  ChatEditRefusedError,
  editChat,
  unregisterChat,
} from "../registration/manage-chat.js";
import { installIdOf } from "./chats.js";
import { asFlag } from "./register.js";

const UNREGISTER = {
  name: "setup unregister",
  usage: `Usage: npm run setup -- unregister <chat id> [--purge] [--force] [--json]

Removes a chat's registration: nestbox stops answering it. Its folder, sessions and messages stay in
the data folder (registering it again picks them up).
  --purge   also delete the chat's folder, sessions, messages and replies
  --force   unregister the main chat too
`,
  options: { purge: { type: "boolean" }, force: { type: "boolean" } },
  json: true,
  positionals: true,
} satisfies CommandSpec<ParseArgsOptionsConfig>;

const EDIT = {
  name: "setup edit",
  usage: `Usage: npm run setup -- edit <chat id> [flags]

Changes a registered chat; validates everything and writes nothing on error.
  --name <name>                   the chat's display name
  --trigger <word>                the word that wakes the assistant, e.g. @Andy
  --requires-trigger true|false   false: answer every message
  --memory-mb, --cpus, --pids, --disk-mb <n|default>   this chat's container limits ("default" removes one)
  --json                          print the chat as JSON
`,
  options: {
    name: { type: "string" },
    trigger: { type: "string" },
    "requires-trigger": { type: "string" },
    "memory-mb": { type: "string" },
    cpus: { type: "string" },
    pids: { type: "string" },
    "disk-mb": { type: "string" },
  },
  json: true,
  positionals: true,
} satisfies CommandSpec<ParseArgsOptionsConfig>;

const LIMIT_FLAGS = [
  ["memoryMb", "memory-mb"],
  ["cpus", "cpus"],
  ["pids", "pids"],
  ["diskMb", "disk-mb"],
] as const;

function oneChatId(name: string, positionals: string[]): string {
  if (positionals.length !== 1) {
    throw new UsageError(
      `${name} takes exactly one chat id, e.g. tg:-1001234567890 (see "npm run setup -- chats")`,
    );
  }
  return positionals[0] as string;
}

/** `setup unregister <chat id>`: asks nothing, keeps the chat's files unless --purge. */
export const unregister = defineCommand(UNREGISTER, async ({ values, positionals, json }, io) => {
  const chatId = oneChatId("unregister", positionals);
  const { config, agents } = loadContext(io);
  const { dataDir } = config;
  const purge = values.purge === true;
  const chat = unregisterChat(dataDir, chatId, { purge, force: values.force === true });
  // On a swarm the chat's folders are volumes: --purge removes them too (refused while an agent uses them).
  if (purge && config.cluster.runtime.kind === "swarm") {
    const installId = installIdOf(dataDir);
    const names = chatVolumeNames(installId, chat.folder);
    try {
      await removeChatVolumes(agents, names);
    } catch (err) {
      io.stderr.write(
        `warning: the chat's volumes were not removed (${(err as Error).message}); stop its agent and run docker volume rm ${names.group} ${names.sessions}\n`,
      );
    }
  }
  if (json) io.stdout.write(`${JSON.stringify({ ok: true, chat, purged: purge })}\n`);
  else {
    const folder = path.join(dataDir, "groups", chat.folder);
    io.stdout.write(
      purge
        ? `Unregistered ${chat.chatId} "${chat.name}" and deleted its folder ${folder}, its sessions and its messages.\n`
        : `Unregistered ${chat.chatId} "${chat.name}". Its folder ${folder} and its messages are kept (--purge deletes them).\n`,
    );
  }
  return EXIT.ok;
});

/** `setup edit <chat id>`: name, trigger, requires-trigger and limits, through the chat schema. */
export const edit = defineCommand(EDIT, async ({ values, positionals, json }, io) => {
  const chatId = oneChatId("edit", positionals);
  const flags = values as Record<string, string | undefined>;
  const str = (k: string) => flags[k]?.trim();
  const changes: ChatChanges = {};
  if (values.name !== undefined) changes.name = values.name;
  if (values.trigger !== undefined) changes.trigger = values.trigger.trim();
  const requires = str("requires-trigger");
  if (requires !== undefined) {
    if (requires !== "true" && requires !== "false") {
      throw new UsageError(`--requires-trigger must be true or false, got "${requires}"`);
    }
    changes.requiresTrigger = requires === "true";
  }
  for (const [field, flag] of LIMIT_FLAGS) {
    const raw = str(flag);
    if (raw === undefined) continue;
    changes.limits ??= {};
    changes.limits[field] = raw === "default" ? null : raw === "" ? Number.NaN : Number(raw);
  }
  if (Object.keys(changes).length === 0) {
    throw new UsageError(
      `nothing to change: pass at least one of ${Object.keys(EDIT.options)
        .map((f) => `--${f}`)
        .join(", ")}`,
    );
  }
  const { dataDir } = loadContext(io).config;
  let chat: Awaited<ReturnType<typeof editChat>>;
  try {
    chat = editChat(dataDir, chatId, changes);
  } catch (err) {
    if (!(err instanceof ChatEditRefusedError)) throw err;
    throw new UsageError(err.problems.map((p) => asFlag(p, str)).join("; "), { cause: err });
  }
  if (json) io.stdout.write(`${JSON.stringify({ ok: true, chat })}\n`);
  else {
    const how =
      chat.isMain || !chat.requiresTrigger
        ? "answers every message"
        : `answers messages starting with ${chat.trigger}`;
    const limits = chat.limits ? `; limits ${JSON.stringify(chat.limits)}` : "";
    io.stdout.write(
      `Updated ${chat.chatId} "${chat.name}": ${how}${limits}. A running host uses it from the next message; limits apply to its next container.\n`,
    );
  }
  return EXIT.ok;
});
