import path from "node:path";
import type { Readable, Writable } from "node:stream";
import { syncSkills } from "./agents/skills.js";
import { type ChannelLine, startBanner } from "./banner.js";
import type { Channel } from "./channels/channel.js";
import type { TelegramAdapter } from "./channels/telegram/index.js";
import { createTerminalAdapter, type TerminalAdapter } from "./channels/terminal/index.js";
import { hasRegisteredCredentials } from "./channels/whatsapp/linked.js";
import { whatsappProxyAgent } from "./channels/whatsapp/proxy.js";
import type { CommandIO } from "./cli/io.js";
import { nestboxVersion } from "./cli/project.js";
import { requireModel } from "./config.js";
import { ensureAgentImage } from "./containers/agent-image.js";
import { probeDataVisibility, probeServices } from "./containers/probe.js";
import { type Context, loadContext } from "./context.js";
import {
  NO_CHANNEL_MESSAGE,
  SIGNAL_EXIT,
  SIGNAL_GRACE_MS,
  type StopSignal,
  waitForStop,
} from "./daemon/stop.js";
import { describeTypo, envTypos } from "./env-typos.js";
import { type HostServices, startHostServices } from "./host/host-services.js";
import { LogSink } from "./log.js";
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
  // At a terminal, log lines go above the chat's prompt once the terminal channel runs.
  const logSink = new LogSink((line) => io.stderr.write(line));
  const context = loadContext(io, {
    interactive,
    service: options.noTerminal === true,
    ...(interactive ? { logDestination: logSink } : {}),
  });
  // The data folder is this process's before anything touches Docker or a channel: a second host stops here.
  const services = await startHostServices(context);
  try {
    return await run(options, context, services, interactive, logSink);
  } finally {
    await services.close();
  }
}

async function run(
  options: StartOptions,
  { env, config, sandbox, docker, agents, log, logFile }: Context,
  services: HostServices,
  interactive: boolean,
  logSink: LogSink,
): Promise<number> {
  const { io } = options;
  const typos = envTypos(env);
  if (typos.length > 0)
    io.stderr.write(`warning: unknown variables ignored: ${typos.map(describeTypo).join(", ")}\n`);
  const model = requireModel(config);
  log.info(
    {
      ownContainer: sandbox.ownContainerId,
      proxy: sandbox.proxy.httpsProxy ?? sandbox.proxy.httpProxy,
      noProxy: sandbox.proxy.noProxy,
      caFiles: sandbox.caFiles.length,
      docker: sandbox.dockerHost ?? "default socket",
      hostDataDir: config.hostDataDir,
      runtime: config.cluster.runtime.kind,
      logFile,
    },
    "environment detected",
  );
  await docker.version();
  if (agents !== docker) await agents.version(); // a swarm runtime: this engine must manage an active swarm
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
    where: sandbox,
  });
  // On a swarm, agents are services: prove one of the agent image runs there before any chat needs it.
  if (agents !== docker) await probeServices(agents, config.agentImage);
  // A channel's library (grammy, baileys) loads only when that channel runs: idle memory and start time.
  const telegramModule = config.telegram ? await import("./channels/telegram/index.js") : null;
  const whatsappModule = whatsappLinked ? await import("./channels/whatsapp/index.js") : null;
  let terminal: TerminalAdapter | null = null;
  let telegram: TelegramAdapter | null = null;
  const nestbox = await createNestbox({
    config,
    model,
    sandbox,
    // Agents run here: the engine itself, or the swarm it manages (AGENT_RUNTIME=swarm).
    docker: agents,
    log,
    lock: services.lock,
    channels: (store) => {
      const channels: Channel[] = [];
      if (config.telegram && telegramModule) {
        telegram = telegramModule.createTelegramAdapter({
          botToken: config.telegram.botToken,
          apiRoot: config.telegram.apiRoot,
          assistantName: config.assistantName,
          log,
          proxyAgent: agentFor(new URL(config.telegram.apiRoot), sandbox.proxy),
          // `/chatid` suggests a setup command: it must reach this data folder, wherever it is run.
          ...(config.dataDir === path.resolve(io.cwd, "data") ? {} : { dataDir: config.dataDir }),
        });
        channels.push(telegram);
      } else log.info("Telegram skipped: TELEGRAM_BOT_TOKEN is not set");
      if (whatsappModule) {
        channels.push(
          whatsappModule.createWhatsAppAdapter({
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
          // In raw mode Ctrl-C reaches readline, not the process: raise the signal a terminal would.
          onInterrupt: () => process.kill(process.pid, "SIGINT"),
        });
        channels.push(terminal);
        const shown = terminal;
        if (interactive) logSink.redirect((line) => shown.notice(line));
      }
      return channels;
    },
  });

  const others = nestbox.registry
    .all()
    .map((c) => c.name)
    .filter((name) => name !== "terminal");
  if (!openTerminal && others.length === 0) log.warn(NO_CHANNEL_MESSAGE);
  const open = terminal as TerminalAdapter | null;
  const stopped = waitForStop({
    terminal: open && {
      onInputEnd: (handler) => open.onInputEnd(handler),
      stop: () => nestbox.registry.stopChannel(open.name),
    },
    otherChannels: others,
    stopSignal: options.stopSignal,
    log,
  });
  services.attach({ store: nestbox.store, registry: nestbox.registry, docker: agents, model });
  await nestbox.start();
  const say = (text: string) => (open?.interactive ? open.notice(text) : io.stderr.write(text));
  if ((io.stderr as { isTTY?: boolean }).isTTY === true) {
    const bot = (telegram as TelegramAdapter | null)?.botInfo?.username;
    // Telegram may still be retrying its first connection: the banner says so instead of "connected".
    const tg = nestbox.registry.startStates().find((s) => s.name === "telegram");
    const tgState = !config.telegram
      ? "off (set TELEGRAM_BOT_TOKEN)"
      : tg?.state === "started"
        ? `connected as @${bot}`
        : `not connected yet, retrying (${tg?.error ?? "starting"})`;
    const channels: ChannelLine[] = [
      { name: "telegram", state: tgState },
      { name: "whatsapp", state: whatsappLinked ? "connected" : "not linked (nestbox auth whatsapp)" },
      { name: "terminal", state: openTerminal ? "here" : "off (--terminal opens it)" },
    ];
    const version = nestboxVersion(options.projectDir);
    say(startBanner({ version, model, channels, dataDir: config.dataDir }));
  }
  if (open && io.stdout.isTTY) {
    const ctrlD =
      others.length === 0 ? "Ctrl-D to finish" : `Ctrl-D closes this chat (${others.join(", ")} run on)`;
    say(`nestbox is running. Talk to ${config.assistantName} here; ${ctrlD}, Ctrl-C to stop.\n`);
  }
  let why = await stopped;
  services.stopping();
  if (why === "eof") {
    const drained = nestbox.pipeline.drain().then(() => "eof" as const);
    // A turn whose reply is already out finishes within moments: only a real wait is announced.
    const soon = await Promise.race([drained, new Promise<null>((r) => setTimeout(() => r(null), 500))]);
    const waiting = nestbox.pipeline.queue.active + nestbox.pipeline.queue.pending;
    if (soon === null && waiting > 0)
      say(`Waiting for ${waiting} ${waiting === 1 ? "reply" : "replies"}; Ctrl-C stops now.\n`);
    // Ctrl-C still stops while the last replies are awaited.
    why = await Promise.race([drained, options.stopSignal]);
  }
  if (why === "eof") {
    await nestbox.stop();
    logSink.redirect(null);
    return 0;
  }
  log.info({ signal: why }, "stopping");
  await nestbox.stop(SIGNAL_GRACE_MS[why]);
  logSink.redirect(null);
  return SIGNAL_EXIT[why];
}
