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
import { describeTypo, envTypos } from "./env-typos.js";
import { createNestbox } from "./nestbox.js";
import { ensureTerminalChat } from "./registration/terminal-chat.js";
import { agentFor } from "./sandbox/index.js";

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

/**
 * `nestbox start`: config -> store -> runtime -> channels -> host. Resolves with the exit code:
 * 0 after the terminal's input ends and its turns are answered, 130 after Ctrl-C.
 */
export async function start(options: StartOptions): Promise<number> {
  const { io } = options;
  const interactive = io.stdout.isTTY === true && (io.stdin as { isTTY?: boolean }).isTTY === true;
  // One environment (process + .env) for config, sandbox, Docker and the log level.
  const { env, config, sandbox, docker, log } = loadContext(io, { interactive });
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
    },
    "environment detected",
  );
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
    hostDataDir: config.hostDataDir,
    where: sandbox,
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

  const inputEnded = new Promise<"eof">((resolve) =>
    (terminal as TerminalAdapter | null)?.onInputEnd(() => resolve("eof")),
  );
  await nestbox.start();
  if (terminal && io.stdout.isTTY) {
    io.stderr.write(
      `nestbox is running. Talk to ${config.assistantName} here; Ctrl-D to finish, Ctrl-C to stop.\n`,
    );
  }
  const why = await Promise.race([inputEnded, options.stopSignal]);
  if (why === "eof") {
    await nestbox.pipeline.drain();
    await nestbox.stop();
  } else {
    log.info({ signal: why }, "stopping");
    await nestbox.stop(why === "SIGTERM" ? 10_000 : 0);
  }
  return why === "SIGINT" ? 130 : 0;
}
