import type { Readable, Writable } from "node:stream";
import type { AgentRuntime } from "./agents/runtime.js";
import { UnconfiguredRuntime } from "./agents/unconfigured-runtime.js";
import type { Channel } from "./channels/channel.js";
import { ChannelRegistry } from "./channels/registry.js";
import { createTerminalAdapter, type TerminalAdapter } from "./channels/terminal/index.js";
import type { CommandIO } from "./cli/io.js";
import { type Config, loadConfig, readEnvironment } from "./config.js";
import { Host } from "./host.js";
import { createLogger, type Logger } from "./log.js";
import { registerChat } from "./registration.js";
import { Store } from "./store/index.js";

/** What `nestbox start` runs with; everything comes from the caller, nothing from globals. */
export interface StartOptions {
  io: CommandIO & { stdin: Readable; stdout: Writable & { isTTY?: boolean } };
  /** Open the terminal channel even when other channels are configured. */
  terminal?: boolean;
  /** Resolves when the process is asked to stop (SIGINT/SIGTERM); the caller installs the handlers. */
  stopSignal: Promise<"SIGINT" | "SIGTERM">;
}

/** Makes sure `local:console` is registered: as the main chat when there is none yet. */
export function ensureTerminalChat(config: Config, store: Store): void {
  if (store.chats.get("local:console")) return;
  const hasMain = store.chats.main() !== null;
  const folder = store.chats.byFolder("main") ? "terminal" : "main";
  store.close();
  registerChat(config.dataDir, {
    assistantName: config.assistantName,
    chat: {
      chatId: "local:console",
      channel: "terminal",
      name: "Terminal",
      folder,
      trigger: `@${config.assistantName}`,
      requiresTrigger: false,
      isMain: !hasMain,
      allowedSenders: null,
      limits: null,
      extraMounts: [],
      createdAt: Date.now(),
    },
  });
}

function createRuntime(_config: Config, log: Logger): AgentRuntime {
  const reason =
    "no agent runtime is configured yet: agents in containers are not part of this build, so nothing can answer";
  log.warn(reason);
  return new UnconfiguredRuntime(reason);
}

/**
 * `nestbox start`: config -> store -> runtime -> channels -> host. Resolves with the exit code:
 * 0 after the terminal's input ends and its turns are answered, 130 after Ctrl-C.
 */
export async function start(options: StartOptions): Promise<number> {
  const { io } = options;
  const config = loadConfig(readEnvironment(io.env, io.cwd), io.cwd);
  const log = createLogger({ level: config.logLevel });
  {
    const store = Store.open(config.dataDir);
    ensureTerminalChat(config, store);
    store.close();
  }
  const store = Store.open(config.dataDir);
  const runtime = createRuntime(config, log);

  const channels: Channel[] = [];
  if (!config.telegram) log.info("Telegram skipped: TELEGRAM_BOT_TOKEN is not set");
  let terminal: TerminalAdapter | null = null;
  if (channels.length === 0 || options.terminal) {
    terminal = createTerminalAdapter({
      input: io.stdin,
      output: io.stdout,
      assistantName: config.assistantName,
      interactive: io.stdout.isTTY === true && (io.stdin as { isTTY?: boolean }).isTTY === true,
    });
    channels.push(terminal);
  }
  const registry = new ChannelRegistry(channels, log);
  const host = new Host({
    store,
    registry,
    runtime,
    log,
    maxConcurrentAgents: config.maxConcurrentAgents,
    limits: {
      maxMessages: config.catchupMaxMessages,
      maxChars: config.catchupMaxChars,
      timezone: config.timezone,
    },
  });

  const inputEnded = new Promise<"eof">((resolve) => terminal?.onInputEnd(() => resolve("eof")));
  await host.start();
  if (terminal && io.stdout.isTTY) {
    io.stderr.write(
      `nestbox is running. Talk to ${config.assistantName} here; Ctrl-D to finish, Ctrl-C to stop.\n`,
    );
  }
  const why = await Promise.race([inputEnded, options.stopSignal]);
  if (why === "eof") {
    await host.drain();
    await host.stop();
    store.close();
    return 0;
  }
  log.info({ signal: why }, "stopping");
  await host.stop(why === "SIGTERM" ? 10_000 : 0);
  store.close();
  return why === "SIGINT" ? 130 : 0;
}
