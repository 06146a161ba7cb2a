import type { Readable, Writable } from "node:stream";
import { loadContext } from "../context.js";
import type { StopSignal } from "../daemon/stop.js";
import { UsageError } from "../errors.js";
import { type StartOptions, start } from "../main.js";
import { serviceCommand } from "../service/cli.js";
import type { ServiceHost } from "../service/service.js";
import { listChats, printChats } from "../setup/chats.js";
import { asksFor, type Command, defineCommand, printVersion } from "./args.js";
import { hostStatus } from "./host-status.js";
import { hostLines } from "./host-status-lines.js";
import { type CommandIO, EXIT, fail } from "./io.js";
import { printStatus, status } from "./status.js";

const USAGE = `Usage: nestbox <command> [flags]

Commands:
  start [--terminal|--no-terminal]
                       run the host (opens the terminal chat when no other channel is configured)
  status [--json]      is the host running and ready; chats, agents, undelivered replies
  chats [--json]       list registered chats
  setup <step>         register, edit, unregister, chats, container, environment, verify (setup --help)
  auth whatsapp        link a WhatsApp account
  service <install|uninstall|status|logs>
                       run nestbox as a systemd or launchd service (restart on failure, logs)
  doctor [--fix]       check model, Docker, agent image, data folder, channels; say (or do) the fix
Every command takes --help for its own flags and --version. Exit codes: 0 done, 1 failed, 2 wrong flags.
`;

/** What `nestbox start` needs beyond the command line: the terminal's streams, the project, the stop signal. */
export interface NestboxDeps {
  stdin: Readable;
  stdout: Writable & { isTTY?: boolean };
  projectDir: string;
  /** Called only when `start` really starts, so parsing and `--help` install no signal handlers. */
  stopSignal: () => Promise<StopSignal>;
  /** How this process was started (node, flags, entry): what `service install` puts in the unit. */
  launcher?: readonly string[];
  /** The machine `service` works on; the real one by default. */
  serviceHost?: (env: Record<string, string | undefined>) => ServiceHost;
  /** `start` itself; replaced in tests that only check the command line. */
  start?: (options: StartOptions) => Promise<number>;
}

function commands(deps: NestboxDeps): Record<string, Command> {
  return {
    start: defineCommand(
      {
        name: "start",
        usage: `Usage: nestbox start [--terminal | --no-terminal]

Runs the host: Telegram when TELEGRAM_BOT_TOKEN is set, WhatsApp when linked, otherwise the terminal chat.
  --terminal      open the terminal chat even when other channels are configured
  --no-terminal   never open it (what a service runs): run until SIGTERM, SIGINT or SIGHUP
The end of the terminal's input stops the host only when the terminal is its only channel.
Exit codes: 0 input ended or SIGTERM, 129 SIGHUP, 130 SIGINT (Ctrl-C), 1 failed, 2 wrong flags.
`,
        options: { terminal: { type: "boolean" }, "no-terminal": { type: "boolean" } },
      },
      async ({ values }, io) => {
        if (values.terminal && values["no-terminal"])
          throw new UsageError('--terminal and --no-terminal exclude each other: "start" takes one of them');
        return (deps.start ?? start)({
          io: { ...io, stdin: deps.stdin, stdout: deps.stdout },
          terminal: values.terminal === true,
          noTerminal: values["no-terminal"] === true,
          projectDir: deps.projectDir,
          stopSignal: deps.stopSignal(),
        });
      },
    ),
    status: defineCommand(
      {
        name: "status",
        usage: `Usage: nestbox status [--json]

Whether the host runs on the data folder (pid, uptime, version, readiness from its health endpoint),
the model, each channel's state, running and orphaned agents, last errors, pending replies; then the
registered chats with their last turn and running agent, and undelivered or failed replies.
  --json   the same report as one JSON object
Exit codes: 0 running and ready; 1 error (e.g. no data folder at NESTBOX_DATA_DIR); 2 not running
(stopped or crashed); 3 running but not ready (a channel down, the model unreachable...);
4 running but the Docker engine does not answer.
`,
        options: {},
        json: true,
      },
      async ({ json }, io) => {
        // Agents are services on a swarm (AGENT_RUNTIME=swarm): status lists them through that runtime.
        const { config, agents } = loadContext(io);
        const host = await hostStatus(config, agents);
        const chats = await status(config, agents);
        if (json) io.stdout.write(`${JSON.stringify({ ...chats, ...host })}\n`);
        else {
          io.stdout.write(`${hostLines(host).join("\n")}\n`);
          printStatus(io, chats, false);
        }
        return host.exitCode;
      },
    ),
    service: serviceCommand(deps.launcher ?? [], deps.serviceHost),
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
    // setup, auth and doctor load on use: `start` stays free of their code (qrcode, baileys, grammy).
    setup: async (argv, io) => (await import("../setup/cli.js")).runSetup(argv, io),
    auth: async (argv, io) => {
      const { runAuth } = await import("./auth.js");
      if (asksFor(argv)) return runAuth(argv, io);
      // Ctrl-C cancels the link; the handlers are installed only now that it really runs.
      const controller = new AbortController();
      void deps.stopSignal().then(() => controller.abort());
      return runAuth(argv, { ...io, signal: controller.signal });
    },
    doctor: async (argv, io) =>
      (await import("./doctor-command.js")).doctorCommand(deps.projectDir)(argv, io),
  };
}

/** Runs `nestbox <command> ...` (start when none is given); returns the exit code. */
export async function runNestbox(argv: string[], io: CommandIO, deps: NestboxDeps): Promise<number> {
  const [first, ...rest] = argv;
  if (first === "help" || first === "--help" || first === "-h") {
    io.stdout.write(USAGE);
    return EXIT.ok;
  }
  if (first === "--version" || first === "-V") return printVersion(io);
  // `nestbox --terminal` is `nestbox start --terminal`.
  const [name, args] = first === undefined || first.startsWith("-") ? ["start", argv] : [first, rest];
  const command = commands(deps)[name];
  if (!command) {
    const err = new UsageError(
      `unknown command "${name}": use start, status, chats, setup, auth, service or doctor (see nestbox --help)`,
    );
    return fail(io, err, argv.includes("--json"));
  }
  return command(args, io);
}
