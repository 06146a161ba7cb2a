import path from "node:path";
import { asksFor, type Command, defineCommand, printVersion } from "../cli/args.js";
import { type CommandIO, EXIT, fail } from "../cli/io.js";
import type { Config } from "../config.js";
import { chatVolumeNames, ensureChatVolumes } from "../containers/chat-volumes.js";
import type { ContainerRuntime } from "../containers/container-runtime.js";
import { mountPolicy } from "../containers/mount-policy.js";
import { loadContext } from "../context.js";
import { UsageError } from "../errors.js";
import type { RegisteredChat } from "../registration/chat.js";
import { registerChat } from "../registration/register-chat.js";
import { installIdOf, listChats, printChats } from "./chats.js";
import { container } from "./container.js";
import { environment } from "./environment.js";
import { edit, unregister } from "./manage.js";
import { parseRegister, REGISTER } from "./register.js";
import { task, tasks } from "./tasks.js";
import { verify } from "./verify.js";

const USAGE = `Usage: npm run setup -- <step> [flags]      (or --step <step>)

Steps:
  register   register a chat: --channel telegram|whatsapp|terminal --jid <chat id> --name <name>
             --folder <folder> [--trigger @Andy] [--assistant-name Andy] [--is-main]
             [--no-trigger-required] [--allow-sender <sender id>]... [--memory-mb N] [--cpus N] [--disk-mb N]
             [--pids N] [--mount name=/host/folder[:ro|:rw]]...
  edit       change a chat: <chat id> [--name <name>] [--trigger @Bob] [--requires-trigger true|false]
             [--memory-mb|--cpus|--pids|--disk-mb N|default]
  unregister remove a chat: <chat id> [--purge (also its folder and messages)] [--force (the main chat)]
  chats      list registered chats
  tasks      list scheduled tasks: [--chat <chat id>] [--all]
  task       add|pause|resume|cancel a scheduled task: task add --chat <chat id> --cron "0 8 * * 1-5"|
             --every 10m|--at 2026-12-24T08:00 --prompt <text> [--context group|isolated]; task pause <id>
  container  build the agent image: [--base <image>] [--tag <image:tag>]
  environment  show the detected proxy, CA files, Docker endpoint, own container and path mapping, and
             test each egress path once (host and agent container)
  verify     the doctor (nestbox doctor): variables, a real model call, Docker, agent image, data folder,
             Telegram token and privacy mode; ok/warn/FAIL with the fix [--fix]
Every step takes --json for machine-readable output and --help for its own flags.
Exit codes: 0 done, 1 failed, 2 wrong flags.
`;

/** A setup step: gets its own flags (the step name removed), returns an exit code. */
export type SetupStep = Command;

/** Splits `<step> ...` or `--step <step> ...` into the step name and its own flags. */
export function splitStep(argv: string[]): { step: string | undefined; rest: string[] } {
  const i = argv.indexOf("--step");
  if (i >= 0) return { step: argv[i + 1], rest: [...argv.slice(0, i), ...argv.slice(i + 2)] };
  const first = argv.findIndex((a) => !a.startsWith("-"));
  if (first < 0) return { step: undefined, rest: argv };
  return { step: argv[first], rest: [...argv.slice(0, first), ...argv.slice(first + 1)] };
}

const register = defineCommand(REGISTER, async (args, io) => {
  const { config, agents } = loadContext(io);
  const request = parseRegister(args.values, {
    assistantName: config.assistantName,
    now: Date.now(),
    mountPolicy: mountPolicy(config),
    groupsDir: shownPath(path.join(config.dataDir, "groups"), io.cwd),
  });
  const chat = registerChat(config.dataDir, request);
  const volumes = await swarmVolumes(config, agents, chat);
  if (args.json) io.stdout.write(`${JSON.stringify({ ok: true, chat })}\n`);
  else {
    const how =
      chat.isMain || !chat.requiresTrigger
        ? "answers every message"
        : `answers messages starting with ${chat.trigger}`;
    io.stdout.write(
      `Registered ${chat.chatId} "${chat.name}" in ${volumes ?? `${shownPath(path.join(config.dataDir, "groups", chat.folder), io.cwd)}/`} (${how}${chat.isMain ? ", main chat" : ""}).\n`,
    );
  }
  return EXIT.ok;
});

/**
 * On a swarm (AGENT_RUNTIME=swarm) a chat's folders are named volumes, created here at registration; the
 * chat stays registered when the engine cannot be reached (its first agent start creates them).
 */
async function swarmVolumes(
  config: Config,
  agents: ContainerRuntime,
  chat: RegisteredChat,
): Promise<string | null> {
  const swarm = config.cluster.runtime;
  if (swarm.kind !== "swarm") return null;
  const installId = installIdOf(config.dataDir);
  const names = chatVolumeNames(installId, chat.folder);
  try {
    await ensureChatVolumes(agents, installId, chat);
    return `volumes ${names.group} and ${names.sessions}`;
  } catch (err) {
    return `volume ${names.group}, created at its first start (the engine said: ${(err as Error).message})`;
  }
}

const chats = defineCommand(
  {
    name: "setup chats",
    usage: "Usage: npm run setup -- chats [--json]\n\nLists the registered chats.\n",
    options: {},
    json: true,
  },
  async (args, io) => {
    printChats(io, listChats(loadContext(io).config.dataDir), args.json);
    return EXIT.ok;
  },
);

/** A path as the user can use it from here: relative when it is under `cwd` (`data/groups/x`), else absolute. */
export function shownPath(p: string, cwd: string): string {
  const rel = path.relative(cwd, p);
  return rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel) ? rel : p;
}

/** The steps by name. */
export const steps: Record<string, SetupStep> = {
  register,
  chats,
  tasks,
  task,
  edit,
  unregister,
  container,
  environment,
  verify,
};

/** Runs `npm run setup -- ...`; returns the exit code (0 done, 1 failed, 2 wrong flags). */
export async function runSetup(
  argv: string[],
  io: CommandIO,
  extra: Record<string, SetupStep> = {},
): Promise<number> {
  const all = { ...steps, ...extra };
  const { step, rest } = splitStep(argv);
  if (!step && asksFor(rest) === "version") return printVersion(io);
  if (!step || step === "help") {
    const asked = step === "help" || asksFor(rest) === "help";
    (asked ? io.stdout : io.stderr).write(USAGE);
    return asked ? EXIT.ok : EXIT.usage;
  }
  const run = all[step];
  if (!run)
    return fail(
      io,
      new UsageError(`unknown setup step "${step}": use one of ${Object.keys(all).join(", ")}`),
      argv.includes("--json"),
    );
  return run(rest, io);
}
