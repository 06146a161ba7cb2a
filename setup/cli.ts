import { type CommandIO, fail } from "../src/cli/io.js";
import { loadConfig, readEnvironment } from "../src/config.js";
import { mountPolicy } from "../src/containers/mount-policy.js";
import { UsageError } from "../src/errors.js";
import { registerChat } from "../src/registration.js";
import { listChats, printChats } from "./chats.js";
import { container } from "./container.js";
import { environment } from "./environment.js";
import { parseRegister } from "./register.js";
import { verify } from "./verify.js";

const USAGE = `Usage: npm run setup -- <step> [flags]      (or --step <step>)

Steps:
  register   register a chat: --channel telegram|whatsapp|terminal --jid <chat id> --name <name>
             --folder <folder> [--trigger @Andy] [--assistant-name Andy] [--is-main]
             [--no-trigger-required] [--allow-sender <sender id>]... [--memory-mb N] [--cpus N] [--disk-mb N]
             [--pids N] [--mount name=/host/folder[:ro|:rw]]...
  chats      list registered chats
  container  build the agent image: [--base <image>] [--tag <image:tag>]
  environment  show the detected proxy, CA files, Docker endpoint, own container and path mapping, and
             test each egress path once (host and agent container)
  verify     check the configuration: model, Docker, agent image, Telegram token and privacy mode
Every step takes --json for machine-readable output.
`;

/** A setup step: gets the remaining argv, returns an exit code. */
export type SetupStep = (argv: string[], io: CommandIO, json: boolean) => Promise<number>;

/** Splits `<step> ...` or `--step <step> ...` into the step name and its own flags. */
export function splitStep(argv: string[]): { step: string | undefined; rest: string[] } {
  const i = argv.indexOf("--step");
  if (i >= 0) return { step: argv[i + 1], rest: [...argv.slice(0, i), ...argv.slice(i + 2)] };
  const first = argv.findIndex((a) => !a.startsWith("-"));
  if (first < 0) return { step: undefined, rest: argv };
  return { step: argv[first], rest: [...argv.slice(0, first), ...argv.slice(first + 1)] };
}

const register: SetupStep = async (argv, io, json) => {
  const config = loadConfig(readEnvironment(io.env, io.cwd), io.cwd);
  const request = parseRegister(argv, {
    assistantName: config.assistantName,
    now: Date.now(),
    mountPolicy: mountPolicy(config),
  });
  const chat = registerChat(config.dataDir, request);
  if (json) io.stdout.write(`${JSON.stringify({ ok: true, chat })}\n`);
  else {
    const how =
      chat.isMain || !chat.requiresTrigger
        ? "answers every message"
        : `answers messages starting with ${chat.trigger}`;
    io.stdout.write(
      `Registered ${chat.chatId} "${chat.name}" in data/groups/${chat.folder}/ (${how}${chat.isMain ? ", main chat" : ""}).\n`,
    );
  }
  return 0;
};

const chats: SetupStep = async (argv, io, json) => {
  const unknown = argv.filter((a) => a !== "--json");
  if (unknown.length > 0)
    throw new UsageError(`unknown flag ${unknown[0]} for "chats": it takes only --json`);
  const config = loadConfig(readEnvironment(io.env, io.cwd), io.cwd);
  printChats(io, listChats(config.dataDir), json);
  return 0;
};

/** The steps by name. */
export const steps: Record<string, SetupStep> = { register, chats, container, environment, verify };

/** Runs `npm run setup -- ...`; returns the exit code. */
export async function runSetup(
  argv: string[],
  io: CommandIO,
  extra: Record<string, SetupStep> = {},
): Promise<number> {
  const json = argv.includes("--json");
  const all = { ...steps, ...extra };
  const { step, rest } = splitStep(argv);
  if (!step || step === "help" || argv.includes("--help")) {
    io.stdout.write(USAGE);
    return step || argv.includes("--help") ? 0 : 1;
  }
  const run = all[step];
  if (!run)
    return fail(
      io,
      new UsageError(`unknown setup step "${step}": use one of ${Object.keys(all).join(", ")}`),
      json,
    );
  try {
    return await run(
      rest.filter((a) => a !== "--json"),
      io,
      json,
    );
  } catch (err) {
    return fail(io, err, json);
  }
}
