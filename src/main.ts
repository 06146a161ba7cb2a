import path from "node:path";
import type { Readable, Writable } from "node:stream";
import { DiskGuard } from "./agents/disk-guard.js";
import { AgentSupervisor } from "./agents/supervisor.js";
import {
  agentUser,
  closeAgentPlumbing,
  ensureAgentImage,
  requireModel,
  startAgentPlumbing,
  syncSkills,
} from "./agents/wiring.js";
import type { Channel } from "./channels/channel.js";
import { ChannelRegistry } from "./channels/registry.js";
import { createTelegramAdapter } from "./channels/telegram/index.js";
import { createTerminalAdapter, type TerminalAdapter } from "./channels/terminal/index.js";
import {
  createWhatsAppAdapter,
  hasRegisteredCredentials,
  whatsappProxyAgent,
} from "./channels/whatsapp/index.js";
import type { CommandIO } from "./cli/io.js";
import { type Config, loadConfig, readEnvironment } from "./config.js";
import { dockerEndpoint } from "./containers/docker-connection.js";
import { DockerRuntime } from "./containers/docker-runtime.js";
import { mountPolicy } from "./containers/mount-policy.js";
import { probeDataVisibility } from "./containers/probe.js";
import { Reaper } from "./containers/reaper.js";
import { agentFor, detectSandbox } from "./containers/sandbox/index.js";
import { Host } from "./host.js";
import { createLogger } from "./log.js";
import { registerChat } from "./registration.js";
import { Store } from "./store/index.js";

/** What `nestbox start` runs with; everything comes from the caller, nothing from globals. */
export interface StartOptions {
  io: CommandIO & { stdin: Readable; stdout: Writable & { isTTY?: boolean } };
  /** Open the terminal channel even when other channels are configured. */
  terminal?: boolean;
  /** The project folder (Dockerfile, skills). */
  projectDir: string;
  /** Resolves when the process is asked to stop (SIGINT/SIGTERM); the caller installs the handlers. */
  stopSignal: Promise<"SIGINT" | "SIGTERM">;
}

/** Makes sure `local:console` is registered: as the main chat when there is none yet. */
export function ensureTerminalChat(config: Config): void {
  const store = Store.open(config.dataDir);
  const existing = store.chats.get("local:console");
  const hasMain = store.chats.main() !== null;
  const folder = store.chats.byFolder("main") ? "terminal" : "main";
  store.close();
  if (existing) return;
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

/**
 * `nestbox start`: config -> store -> runtime -> channels -> host. Resolves with the exit code:
 * 0 after the terminal's input ends and its turns are answered, 130 after Ctrl-C.
 */
export async function start(options: StartOptions): Promise<number> {
  const { io } = options;
  const config = loadConfig(readEnvironment(io.env, io.cwd), io.cwd);
  const model = requireModel(config);
  const interactive = io.stdout.isTTY === true && (io.stdin as { isTTY?: boolean }).isTTY === true;
  // At an interactive terminal, info logs would interleave with the chat: show warnings unless asked.
  const log = createLogger({ level: interactive && !io.env.LOG_LEVEL ? "warn" : config.logLevel });
  const sandbox = detectSandbox({ env: io.env });
  log.info(
    {
      ownContainer: sandbox.ownContainerId,
      proxy: sandbox.proxy.httpsProxy ?? sandbox.proxy.httpProxy,
      noProxy: sandbox.proxy.noProxy,
      caFiles: sandbox.caFiles.length,
      docker: sandbox.dockerHost ?? "default socket",
      hostDataDir: sandbox.hostDataDir,
    },
    "environment detected",
  );
  const docker = new DockerRuntime(dockerEndpoint(io.env));
  await docker.version();
  await ensureAgentImage(docker, config, sandbox, options.projectDir, (line) => io.stderr.write(`${line}\n`));
  const whatsappAuth = path.join(config.dataDir, "auth", "whatsapp");
  const whatsappLinked = await hasRegisteredCredentials(whatsappAuth);
  const openTerminal = options.terminal === true || (!config.telegram && !whatsappLinked);
  if (openTerminal) ensureTerminalChat(config);
  syncSkills(options.projectDir, config.dataDir);
  await probeDataVisibility(docker, {
    image: config.agentImage,
    dataDir: config.dataDir,
    hostDataDir: sandbox.hostDataDir,
  });
  const store = Store.open(config.dataDir);
  const installId = store.meta.installId();
  const plumbing = await startAgentPlumbing(docker, config, model, sandbox, log, installId);
  let host: Host | null = null;
  const supervisor = new AgentSupervisor({
    runtime: docker,
    spec: {
      installId,
      image: config.agentImage,
      dataDir: config.dataDir,
      hostDataDir: sandbox.hostDataDir,
      assistantName: config.assistantName,
      timezone: config.timezone,
      model,
      modelBaseUrl: plumbing.modelBaseUrl,
      network: plumbing.network,
      gateway: plumbing.gateway,
      proxy: sandbox.proxy,
      ca: plumbing.ca,
      defaults: config.agentLimits,
      user: agentUser(),
    },
    tokens: plumbing.proxy,
    mountPolicy: { ...mountPolicy(config), hostDataDir: sandbox.hostDataDir },
    bindTokens: plumbing.bindsAddresses,
    log,
    idleTimeoutMs: config.agentIdleTimeoutMs,
    turnTimeoutMs: config.agentTurnTimeoutMs,
    isRegistered: (chatId) => store.chats.get(chatId) !== null,
    sendMessage: async (_from, chatId, text) => {
      store.outbox.add(chatId, null, text, Date.now());
      host?.delivery.kick();
    },
  });
  const reaper = new Reaper({
    runtime: docker,
    installId,
    owned: () => supervisor.ownedContainers(),
    ownContainerId: sandbox.ownContainerId,
    log,
  });
  await reaper.start();

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
  let terminal: TerminalAdapter | null = null;
  if (openTerminal) {
    terminal = createTerminalAdapter({
      input: io.stdin,
      output: io.stdout,
      assistantName: config.assistantName,
      interactive,
    });
    channels.push(terminal);
  }
  const registry = new ChannelRegistry(channels, log);
  const disk = new DiskGuard({
    dataDir: config.dataDir,
    chatLimitMb: config.disk.chatLimitMb,
    reserveMb: config.disk.reserveMb,
    log,
    onStoreLow: (message) => store.meta.setDiskLow(message),
  });
  host = new Host({
    store,
    registry,
    runtime: supervisor,
    log,
    maxConcurrentAgents: config.maxConcurrentAgents,
    disk,
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
  reaper.stop();
  if (why === "eof") {
    await host.drain();
    await host.stop();
  } else {
    log.info({ signal: why }, "stopping");
    await host.stop(why === "SIGTERM" ? 10_000 : 0);
  }
  await closeAgentPlumbing(docker, plumbing, log);
  store.close();
  return why === "SIGINT" ? 130 : 0;
}
