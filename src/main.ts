import path from "node:path";
import type { Readable, Writable } from "node:stream";
import { syncSkills } from "./agents/skills.js";
import type { Channel } from "./channels/channel.js";
import { createTelegramAdapter } from "./channels/telegram/index.js";
import { createTerminalAdapter, type TerminalAdapter } from "./channels/terminal/index.js";
import {
  createWhatsAppAdapter,
  hasRegisteredCredentials,
  whatsappProxyAgent,
} from "./channels/whatsapp/index.js";
import type { CommandIO } from "./cli/io.js";
import { requireModel } from "./config.js";
import { ensureAgentImage } from "./containers/agent-image.js";
import { probeDataVisibility } from "./containers/probe.js";
import { loadContext } from "./context.js";
import {
  NO_CHANNEL_MESSAGE,
  SIGNAL_EXIT,
  SIGNAL_GRACE_MS,
  type StopSignal,
  waitForStop,
} from "./daemon/stop.js";
import { createNestbox } from "./nestbox.js";
import { ensureTerminalChat } from "./registration/terminal-chat.js";
import { agentFor } from "./sandbox/index.js";

/** What `nestbox start` runs with; everything comes from the caller, nothing from globals. */
export interface StartOptions {
  io: CommandIO & { stdin: Readable; stdout: Writable & { isTTY?: boolean } };
  /** Open the terminal channel even when other channels are configured. */
  terminal?: boolean;
  /** Never open the terminal channel (what a service runs): the host runs until a signal. */
  noTerminal?: boolean;
  /** The project folder (Dockerfile, skills). */
  projectDir: string;
  /** Resolves when the process is asked to stop (SIGINT/SIGTERM/SIGHUP); the caller installs the handlers. */
  stopSignal: Promise<StopSignal>;
}

/**
 * `nestbox start`: config -> store -> runtime -> channels -> host. Resolves with the exit code:
 * 0 after the terminal's input ends (when it is the only channel) and its turns are answered, else
 * {@link SIGNAL_EXIT}: 0 after SIGTERM, 130 after Ctrl-C, 129 after SIGHUP.
 */
export async function start(options: StartOptions): Promise<number> {
  const { io } = options;
  const interactive = io.stdout.isTTY === true && (io.stdin as { isTTY?: boolean }).isTTY === true;
  // One environment (process + .env) for config, sandbox, Docker and the log level.
  const { config, sandbox, docker, log, logFile } = loadContext(io, {
    interactive,
    service: options.noTerminal === true,
  });
  const model = requireModel(config);
  log.info(
    {
      ownContainer: sandbox.ownContainerId,
      proxy: sandbox.proxy.httpsProxy ?? sandbox.proxy.httpProxy,
      noProxy: sandbox.proxy.noProxy,
      caFiles: sandbox.caFiles.length,
      docker: sandbox.dockerHost ?? "default socket",
      hostDataDir: config.hostDataDir,
      logFile,
    },
    "environment detected",
  );
  await docker.version();
  await ensureAgentImage(docker, config, sandbox, options.projectDir, (line) => io.stderr.write(`${line}\n`));
  const whatsappAuth = path.join(config.dataDir, "auth", "whatsapp");
  const whatsappLinked = await hasRegisteredCredentials(whatsappAuth);
  const openTerminal =
    options.noTerminal !== true && (options.terminal === true || (!config.telegram && !whatsappLinked));
  if (openTerminal) ensureTerminalChat(config);
  syncSkills(options.projectDir, config.dataDir);
  await probeDataVisibility(docker, {
    image: config.agentImage,
    dataDir: config.dataDir,
    hostDataDir: config.hostDataDir,
  });
  let terminal: TerminalAdapter | null = null;
  const nestbox = await createNestbox({
    config,
    model,
    sandbox,
    docker,
    log,
    channels: (store) => {
      const channels: Channel[] = [];
      if (config.telegram) {
        channels.push(
          createTelegramAdapter({
            botToken: config.telegram.botToken,
            apiRoot: config.telegram.apiRoot,
            assistantName: config.assistantName,
            log,
            proxyAgent: agentFor(new URL(config.telegram.apiRoot), sandbox.proxy),
          }),
        );
      } else log.info("Telegram skipped: TELEGRAM_BOT_TOKEN is not set");
      if (whatsappLinked) {
        channels.push(
          createWhatsAppAdapter({
            authDir: whatsappAuth,
            assistantName: config.assistantName,
            log,
            proxyAgent: whatsappProxyAgent(sandbox.proxy),
            selfChatIsMain: (jid) => store.chats.get(jid)?.isMain === true,
          }),
        );
      } else log.info("WhatsApp skipped: not linked (run npm run auth -- whatsapp)");
      if (openTerminal) {
        terminal = createTerminalAdapter({
          input: io.stdin,
          output: io.stdout,
          assistantName: config.assistantName,
          interactive,
        });
        channels.push(terminal);
      }
      return channels;
    },
  });

  const others = nestbox.registry
    .all()
    .map((c) => c.name)
    .filter((name) => name !== "terminal");
  if (!openTerminal && others.length === 0) log.warn(NO_CHANNEL_MESSAGE);
  const terminalChannel = terminal as TerminalAdapter | null;
  const stopped = waitForStop({
    terminal: terminalChannel && {
      onInputEnd: (handler) => terminalChannel.onInputEnd(handler),
      stop: () => nestbox.registry.stopChannel(terminalChannel.name),
    },
    otherChannels: others,
    stopSignal: options.stopSignal,
    log,
  });
  await nestbox.start();
  if (terminalChannel && io.stdout.isTTY) {
    const ctrlD =
      others.length === 0 ? "Ctrl-D to finish" : `Ctrl-D closes this chat (${others.join(", ")} run on)`;
    io.stderr.write(`nestbox is running. Talk to ${config.assistantName} here; ${ctrlD}, Ctrl-C to stop.\n`);
  }
  const why = await stopped;
  if (why === "eof") {
    await nestbox.pipeline.drain();
    await nestbox.stop();
    return 0;
  }
  log.info({ signal: why }, "stopping");
  await nestbox.stop(SIGNAL_GRACE_MS[why]);
  return SIGNAL_EXIT[why];
}
