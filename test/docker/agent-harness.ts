import { randomInt } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { ProxyLimits } from "../../src/agents/credential-proxy.js";
import { syncSkills } from "../../src/agents/skills.js";
import type { TokenIssuer } from "../../src/agents/supervisor.js";
import type { DialServer } from "../../src/agents/transport/dial/server.js";
import type { DialSession } from "../../src/agents/transport/dial/session.js";
import { loadConfig } from "../../src/config.js";
import { createAgentRuntime } from "../../src/containers/agent-runtimes.js";
import type { ContainerRuntime } from "../../src/containers/container-runtime.js";
import { DockerRuntime } from "../../src/containers/docker-runtime.js";
import type { AllowlistRoot } from "../../src/containers/mount-allowlist.js";
import {
  type ExtraMount,
  type MountPolicy,
  mountPolicy as productMountPolicy,
} from "../../src/containers/mount-policy.js";
import { createLogger, type Logger, silentLogger } from "../../src/log.js";
import { createNestbox } from "../../src/nestbox.js";
import { registerChat } from "../../src/registration/register-chat.js";
import { detectSandbox } from "../../src/sandbox/index.js";
import { Store } from "../../src/store/index.js";
import { recordingDialTransport } from "../doubles/dial-peers.js";
import { MemoryChannel } from "../doubles/memory-channel.js";
import { type ScriptedLlm, type ScriptedLlmOptions, startScriptedLlm } from "../doubles/scripted-llm.js";
import { AGENT_IMAGE } from "./support.js";

export const SECRET = "sk-harness-secret-9f8e7d6c";
const root = path.join(import.meta.dirname, "..", "..");

/** Options for {@link startAgentHarness}. */
export interface HarnessOptions {
  respond: ScriptedLlmOptions["respond"];
  chats: {
    chatId: string;
    folder: string;
    isMain?: boolean;
    requiresTrigger?: boolean;
    extraMounts?: ExtraMount[];
  }[];
  /** Roots written to the harness's own mount allowlist file (none: no file, no extra mounts). */
  mountAllowlist?: AllowlistRoot[];
  idleTimeoutMs?: number;
  turnTimeoutMs?: number;
  installId?: string;
  onTurnSent?: (chatId: string) => void;
  /** Disk limits for the host's guard (none: no guard). */
  disk?: { chatLimitMb: number; reserveMb: number; watchIntervalMs?: number };
  /** Credential proxy caps (defaults: the production ones; a long bench may need a higher rate). */
  proxyLimits?: Partial<ProxyLimits>;
  /** The host's logger (default: silent, or debug to stderr with NESTBOX_TEST_LOG). */
  log?: Logger;
  /** AGENT_NETWORK for this install (default open). */
  agentNetwork?: "open" | "internal";
  /** MAX_CONCURRENT_AGENTS (default 4). */
  maxConcurrentAgents?: number;
  /** AGENT_MEMORY_MB (default 512). */
  agentMemoryMb?: number;
  /** MODEL_RETRY_WINDOW and MODEL_STALL_TIMEOUT (defaults: the product's). */
  modelRetry?: { window?: string; stall?: string };
  /**
   * Where agents run (default local). `swarm` needs the daemon in a swarm (test/docker/swarm.ts); each
   * harness gets its own agents' subnet so installs never collide.
   */
  runtime?: "local" | "swarm";
  /** Dial sessions (agents that dial home) are recorded into `dialSessions`, so a test can cut their links. */
  recordDials?: boolean;
  /** Wraps the runtime the host uses (the cold-start bench times its calls); the harness's own stays bare. */
  wrapRuntime?: (runtime: ContainerRuntime) => ContainerRuntime;
}

/** The proxy as the supervisor's TokenIssuer, recording each binding (token -> address) for the tests. */
function recordingIssuer(proxy: TokenIssuer, bindings: Map<string, string | null>): TokenIssuer {
  return {
    issueToken: (chatId) => proxy.issueToken(chatId),
    revokeToken: (token) => proxy.revokeToken(token),
    bindToken: (token, address) => {
      bindings.set(token, address);
      proxy.bindToken(token, address);
    },
  };
}

/**
 * The real agent stack in this process: Store, Host, AgentSupervisor on the real Docker daemon,
 * the real credential proxy, a scripted LLM; a MemoryChannel stands in for the platform.
 */
export async function startAgentHarness(options: HarnessOptions) {
  const dataDir = mkdtempSync(path.join(tmpdir(), "nestbox-agents-"));
  const llm: ScriptedLlm = await startScriptedLlm({
    format: "openai",
    host: "127.0.0.1",
    respond: options.respond,
  });
  const engine = new DockerRuntime();
  const log =
    options.log ?? (process.env.NESTBOX_TEST_LOG ? createLogger({ level: "debug" }) : silentLogger());
  for (const c of options.chats) {
    registerChat(dataDir, {
      assistantName: "Andy",
      chat: {
        chatId: c.chatId,
        channel: "terminal",
        name: c.folder,
        folder: c.folder,
        trigger: "@Andy",
        requiresTrigger: c.requiresTrigger ?? false,
        isMain: c.isMain ?? false,
        allowedSenders: null,
        limits: null,
        extraMounts: c.extraMounts ?? [],
        createdAt: Date.now(),
      },
    });
  }
  syncSkills(root, dataDir);
  const configDir = mkdtempSync(path.join(tmpdir(), "nestbox-config-"));
  const allowlistFile = path.join(configDir, "mount-allowlist.json");
  if (options.mountAllowlist) writeFileSync(allowlistFile, JSON.stringify({ roots: options.mountAllowlist }));
  const installId = options.installId ?? `t${Date.now().toString(36)}`;
  const seed = Store.open(dataDir);
  seed.meta.set("install_id", installId);
  seed.close();
  // The product's own configuration path, with the harness's values.
  const config = loadConfig(
    {
      ...process.env,
      NESTBOX_DATA_DIR: dataDir,
      OPENAI_BASE_URL: llm.url,
      OPENAI_API_KEY: SECRET,
      MODEL: "scripted",
      MODEL_PROVIDER: "openai",
      ANTHROPIC_API_KEY: undefined,
      TELEGRAM_BOT_TOKEN: undefined,
      ASSISTANT_NAME: "Andy",
      TZ: "UTC",
      AGENT_IMAGE,
      AGENT_NETWORK: options.agentNetwork ?? "open",
      AGENT_MEMORY_MB: String(options.agentMemoryMb ?? 512),
      AGENT_CPUS: process.env.NESTBOX_TEST_CPUS ?? "1",
      AGENT_PIDS: "256",
      AGENT_IDLE_TIMEOUT: String(options.idleTimeoutMs ?? 600_000),
      AGENT_TURN_TIMEOUT: String(options.turnTimeoutMs ?? 600_000),
      AGENT_DISK_MB: String(options.disk?.chatLimitMb ?? 2048),
      STORE_RESERVE_MB: String(options.disk?.reserveMb ?? 0),
      MAX_CONCURRENT_AGENTS: String(options.maxConcurrentAgents ?? 4),
      CATCHUP_MAX_MESSAGES: "50",
      CATCHUP_MAX_CHARS: "20000",
      NESTBOX_MOUNT_ALLOWLIST: allowlistFile,
      NESTBOX_HOST_DATA_DIR: undefined,
      MODEL_RETRY_WINDOW: options.modelRetry?.window,
      MODEL_STALL_TIMEOUT: options.modelRetry?.stall,
      AGENT_RUNTIME: options.runtime ?? "local",
      SWARM_SUBNET: `10.${220 + randomInt(30)}.${randomInt(256)}.0/24`,
      SWARM_HOST_ADDRESS: undefined,
      SWARM_PLACEMENT: undefined,
      AGENT_DIAL_PORT: "0",
      CREDENTIAL_PROXY_PORT: "0",
    },
    root,
  );
  // The runtime agents run on: the engine itself, or the swarm it manages.
  const docker = createAgentRuntime(config, engine);
  const model = config.model;
  if (!model) throw new Error("the harness configures a model");
  const bindings = new Map<string, string | null>();
  let recordedDials: DialSession[] = [];
  const channel = new MemoryChannel("memory", "local:");
  const nestbox = await createNestbox({
    config,
    model,
    sandbox: detectSandbox({ env: process.env }),
    docker: options.wrapRuntime ? options.wrapRuntime(docker) : docker,
    log,
    channels: () => [channel],
    tuning: {
      backoffMs: 200,
      onTurnSent: options.onTurnSent,
      proxyLimits: options.proxyLimits,
      tokens: (proxy) => recordingIssuer(proxy, bindings),
      diskWatchIntervalMs: options.disk?.watchIntervalMs,
      ...(options.recordDials
        ? {
            dialTransport: (server: DialServer) => {
              const recorded = recordingDialTransport(server);
              recordedDials = recorded.sessions;
              return recorded.transport;
            },
          }
        : {}),
    },
  });
  await nestbox.start();
  const { store, supervisor, pipeline: h } = nestbox;
  const proxy = nestbox.plumbing.proxy;
  const network = { name: nestbox.plumbing.network };
  const gateway = nestbox.plumbing.gateway.address;
  const mountPolicy: MountPolicy = { ...productMountPolicy(config), hostDataDir: null };
  let closing: Promise<void> | null = null;
  return {
    dataDir,
    mountPolicy,
    llm,
    docker,
    engine,
    store,
    supervisor,
    proxy,
    channel,
    pipeline: h,
    installId,
    /** The agents' network (its name) and the host's address on it, where the proxy listens. */
    network: network.name,
    gateway,
    /** Dial sessions of agents that dialled home (with `recordDials`), oldest first. */
    dialSessions: () => recordedDials,
    /** Every token binding the supervisor made: token -> the container's address on the network. */
    bindings,
    /** Sends a message and waits until its turn is answered. */
    async ask(chatId: string, text: string): Promise<string[]> {
      const before = channel.sent.length;
      await channel.receive(chatId, text);
      await h.drain();
      return channel.sent
        .slice(before)
        .filter((s) => s.chatId === chatId)
        .map((s) => s.text);
    },
    async containersOf(folder: string) {
      return (await docker.list({ "nestbox.install": installId, "nestbox.folder": folder })).filter(
        (c) => c.running,
      );
    },
    /** Stops everything and removes this install's containers and network; calling it again is a no-op. */
    close(): Promise<void> {
      closing ??= (async () => {
        // Stops the pipeline, the agents, the proxy, gives the network back and closes the store.
        await nestbox.stop();
        await llm.close();
        for (const c of await docker.list({ "nestbox.install": installId })) await docker.remove(c.id);
        // The daemon has a small pool of bridge subnets: every test install gives its network back.
        await docker.removeNetwork(network.name);
        // Chat volumes exist only on a swarm (chat folders); a test install leaves none behind.
        for (const v of await docker.listVolumes({ "nestbox.install": installId }))
          await docker.removeVolume(v.name);
        rmSync(dataDir, { recursive: true, force: true });
        rmSync(configDir, { recursive: true, force: true });
      })();
      return closing;
    },
  };
}

export type AgentHarness = Awaited<ReturnType<typeof startAgentHarness>>;
