import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import path from "node:path";
import { CredentialProxy, type ProxyLimits } from "../../src/agents/credential-proxy.js";
import { DiskGuard } from "../../src/agents/disk-guard.js";
import { AgentSupervisor, type TokenIssuer } from "../../src/agents/supervisor.js";
import { agentUser, ensureAgentNetwork, GATEWAY_NAME, syncSkills } from "../../src/agents/wiring.js";
import { ChannelRegistry } from "../../src/channels/registry.js";
import { DockerRuntime } from "../../src/containers/docker-runtime.js";
import type { AllowlistRoot } from "../../src/containers/mount-allowlist.js";
import type { ExtraMount, MountPolicy } from "../../src/containers/mount-policy.js";
import { detectSandbox, writeCaFiles } from "../../src/containers/sandbox/index.js";
import { Host } from "../../src/host.js";
import { createLogger, type Logger, silentLogger } from "../../src/log.js";
import { registerChat } from "../../src/registration.js";
import { Store } from "../../src/store/index.js";
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
}

/** The proxy as the supervisor's TokenIssuer, recording each binding (token -> address) for the tests. */
function recordingIssuer(proxy: CredentialProxy, bindings: Map<string, string | null>): TokenIssuer {
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
  const docker = new DockerRuntime();
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
  mkdirSync(path.join(dataDir, "sessions"), { recursive: true });
  const configDir = mkdtempSync(path.join(tmpdir(), "nestbox-config-"));
  const mountPolicy: MountPolicy = {
    allowlistFile: path.join(configDir, "mount-allowlist.json"),
    dataDir,
    hostDataDir: null,
    homes: [homedir(), "/root"],
    dockerSockets: ["/var/run/docker.sock", "/run/docker.sock"],
    protectedFiles: [path.join(root, ".env")],
  };
  if (options.mountAllowlist) {
    writeFileSync(mountPolicy.allowlistFile, JSON.stringify({ roots: options.mountAllowlist }));
  }
  const store = Store.open(dataDir);
  const installId = options.installId ?? `t${Date.now().toString(36)}`;
  store.meta.set("install_id", installId);
  const sandbox = detectSandbox({ env: process.env });
  const network = await ensureAgentNetwork(docker, installId, options.agentNetwork ?? "open");
  if (!network.gateway) throw new Error(`network ${network.name} has no gateway address`);
  const gateway = network.gateway;
  const proxy = new CredentialProxy({
    model: { provider: "openai", name: "scripted", baseUrl: llm.url, apiKey: SECRET },
    proxy: sandbox.proxy,
    log,
    host: gateway,
    limits: options.proxyLimits,
  });
  await proxy.listen();
  const bindings = new Map<string, string | null>();
  let host: Host | null = null;
  const supervisor = new AgentSupervisor({
    runtime: docker,
    spec: {
      installId,
      image: AGENT_IMAGE,
      dataDir,
      hostDataDir: null,
      assistantName: "Andy",
      timezone: "UTC",
      model: { provider: "openai", name: "scripted", baseUrl: llm.url, apiKey: SECRET },
      modelBaseUrl: `http://${GATEWAY_NAME}:${proxy.port}${CredentialProxy.pathPrefix}`,
      network: network.name,
      gateway: { name: GATEWAY_NAME, address: gateway },
      proxy: sandbox.proxy,
      ca: writeCaFiles(sandbox, dataDir),
      defaults: { memoryMb: 512, cpus: Number(process.env.NESTBOX_TEST_CPUS ?? 1), pids: 256 },
      user: agentUser(),
    },
    tokens: recordingIssuer(proxy, bindings),
    mountPolicy,
    log,
    idleTimeoutMs: options.idleTimeoutMs ?? 600_000,
    turnTimeoutMs: options.turnTimeoutMs ?? 600_000,
    backoffMs: 200,
    onTurnSent: options.onTurnSent,
    isRegistered: (id) => store.chats.get(id) !== null,
    sendMessage: async (_from, chatId, text) => {
      store.outbox.add(chatId, null, text, Date.now());
      host?.delivery.kick();
    },
  });
  const channel = new MemoryChannel("memory", "local:");
  host = new Host({
    store,
    registry: new ChannelRegistry([channel], log),
    runtime: supervisor,
    log,
    maxConcurrentAgents: 4,
    limits: { maxMessages: 50, maxChars: 20_000, timezone: "UTC" },
    disk: options.disk && new DiskGuard({ dataDir, log, ...options.disk }),
  });
  await host.start();
  const h = host;
  let closing: Promise<void> | null = null;
  return {
    dataDir,
    mountPolicy,
    llm,
    docker,
    store,
    supervisor,
    proxy,
    channel,
    host: h,
    installId,
    /** The agents' network (its name) and the host's address on it, where the proxy listens. */
    network: network.name,
    gateway,
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
        await h.stop();
        await proxy.close();
        await llm.close();
        for (const c of await docker.list({ "nestbox.install": installId })) await docker.remove(c.id);
        // The daemon has a small pool of bridge subnets: every test install gives its network back.
        await docker.removeNetwork(network.name);
        store.close();
        rmSync(dataDir, { recursive: true, force: true });
        rmSync(configDir, { recursive: true, force: true });
      })();
      return closing;
    },
  };
}

export type AgentHarness = Awaited<ReturnType<typeof startAgentHarness>>;
