import type { Readable, Writable } from "node:stream";
import { loadContext } from "../context.js";
import { UsageError } from "../errors.js";
import { type StartOptions, start } from "../main.js";
import { listChats, printChats } from "../setup/chats.js";
import { printDoctor, runDoctor } from "../setup/doctor.js";
import { DOCTOR_HELP } from "../setup/verify.js";
import { type Command, defineCommand } from "./args.js";
import { type CommandIO, EXIT, fail } from "./io.js";
import { printStatus, status } from "./status.js";

const USAGE = `Usage: nestbox <command> [flags]

Commands:
  start [--terminal]   run the host (opens the terminal chat when no other channel is configured)
  status [--json]      chats, their last turn and running agent, undelivered replies
  chats [--json]       list registered chats
  doctor [--fix]       check model, Docker, agent image, data folder, channels; say (or do) the fix
Every command takes --help for its own flags. Exit codes: 0 done, 1 failed, 2 wrong flags.
`;

/** What `nestbox start` needs beyond the command line: the terminal's streams, the project, the stop signal. */
export interface NestboxDeps {
  stdin: Readable;
  stdout: Writable & { isTTY?: boolean };
  projectDir: string;
  /** Called only when `start` really starts, so parsing and `--help` install no signal handlers. */
  stopSignal: () => Promise<"SIGINT" | "SIGTERM">;
  /** `start` itself; replaced in tests that only check the command line. */
  start?: (options: StartOptions) => Promise<number>;
}

function commands(deps: NestboxDeps): Record<string, Command> {
  return {
    start: defineCommand(
      {
        name: "start",
        usage: `Usage: nestbox start [--terminal]

Runs the host: Telegram when TELEGRAM_BOT_TOKEN is set, WhatsApp when linked, otherwise the terminal chat.
  --terminal   open the terminal chat even when other channels are configured
`,
        options: { terminal: { type: "boolean" } },
      },
      async ({ values }, io) =>
        (deps.start ?? start)({
          io: { ...io, stdin: deps.stdin, stdout: deps.stdout },
          terminal: values.terminal === true,
          projectDir: deps.projectDir,
          stopSignal: deps.stopSignal(),
        }),
    ),
    status: defineCommand(
      {
        name: "status",
        usage: `Usage: nestbox status [--json]

Registered chats with their last turn and running agent, and undelivered or failed replies.
`,
        options: {},
        json: true,
      },
      async ({ json }, io) => {
        const { config, docker } = loadContext(io);
        printStatus(io, await status(config, docker), json);
        return EXIT.ok;
      },
    ),
    chats: defineCommand(
      {
        name: "chats",
        usage: "Usage: nestbox chats [--json]\n\nLists the registered chats.\n",
        options: {},
        json: true,
      },
      async ({ json }, io) => {
        printChats(io, listChats(loadContext(io).config.dataDir), json);
        return EXIT.ok;
      },
    ),
    doctor: defineCommand(
      {
        name: "doctor",
        usage: `Usage: nestbox doctor [--fix] [--json]\n\n${DOCTOR_HELP}`,
        options: { fix: { type: "boolean" } },
        json: true,
      },
      async ({ values, json }, io) => {
        const checks = await runDoctor(loadContext(io), {
          fix: values.fix === true,
          projectDir: deps.projectDir,
          progress: (line) => io.stderr.write(`${line}\n`),
        });
        return printDoctor(io, checks, json);
      },
    ),
  };
}

/** Runs `nestbox <command> ...` (start when none is given); returns the exit code. */
export async function runNestbox(argv: string[], io: CommandIO, deps: NestboxDeps): Promise<number> {
  const [first, ...rest] = argv;
  if (first === "help" || first === "--help" || first === "-h") {
    io.stdout.write(USAGE);
    return EXIT.ok;
  }
  // `nestbox --terminal` is `nestbox start --terminal`.
  const [name, args] = first === undefined || first.startsWith("-") ? ["start", argv] : [first, rest];
  const command = commands(deps)[name];
  if (!command) {
    const err = new UsageError(
      `unknown command "${name}": use start, status, chats or doctor (see nestbox --help)`,
    );
    return fail(io, err, argv.includes("--json"));
  }
  return command(args, io);
}
