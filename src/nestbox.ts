import { agentUser } from "./agents/agent-user.js";
import type { ProxyLimits } from "./agents/credential-proxy.js";
import { DiskGuard } from "./agents/disk-guard.js";
import { type AgentPlumbing, closeAgentPlumbing, startAgentPlumbing } from "./agents/plumbing.js";
import { AgentSupervisor, type TokenIssuer } from "./agents/supervisor.js";
import { DialTransport } from "./agents/transport/dial/dial-transport.js";
import type { DialServer } from "./agents/transport/dial/server.js";
import type { AgentTransport } from "./agents/transport/transport.js";
import type { Channel } from "./channels/channel.js";
import { ChannelRegistry } from "./channels/registry.js";
import { nestboxVersion } from "./cli/project.js";
import type { Config, ModelConfig } from "./config.js";
import { ensureChatVolumes } from "./containers/chat-volumes.js";
import type { ContainerRuntime } from "./containers/container-runtime.js";
import { mountPolicy } from "./containers/mount-policy.js";
import { Reaper } from "./containers/reaper.js";
import { InstanceLock } from "./host/instance-lock.js";
import type { Logger } from "./log.js";
import { Pipeline } from "./pipeline/pipeline.js";
import { registerChat } from "./registration/register-chat.js";
import type { SandboxEnvironment } from "./sandbox/index.js";
import { Store } from "./store/index.js";
import { createTaskTools } from "./tasks/host-tools.js";
import { TaskScheduler } from "./tasks/scheduler.js";
import { TaskService } from "./tasks/service.js";

/** What the composition root is built from: the loaded context and the channels to run. */
export interface NestboxOptions {
  config: Config;
  model: ModelConfig;
  sandbox: SandboxEnvironment;
  docker: ContainerRuntime;
  log: Logger;
  /**
   * The data folder's single-instance lock, when the caller took it already (`nestbox start` does, before
   * Docker); otherwise the nestbox takes it here and releases it on stop.
   */
  lock?: InstanceLock;
  /** The channels, built once the store is open (WhatsApp asks it which self-chat is main). */
  channels: (store: Store) => Channel[];
  /** Knobs for tests and the benchmark; production leaves them unset. */
  tuning?: {
    backoffMs?: number;
    onTurnSent?: (chatId: string) => void;
    proxyLimits?: Partial<ProxyLimits>;
    /** Wraps the credential proxy's token issuer (tests record bindings). */
    tokens?: (proxy: TokenIssuer) => TokenIssuer;
    diskWatchIntervalMs?: number;
    /** Replaces the dial transport of agents that dial home (tests record its sessions to cut them). */
    dialTransport?: (server: DialServer) => AgentTransport;
  };
}

/** A built nestbox: every part, and one start and one stop. */
export interface Nestbox {
  store: Store;
  installId: string;
  registry: ChannelRegistry;
  pipeline: Pipeline;
  supervisor: AgentSupervisor;
  reaper: Reaper;
  plumbing: AgentPlumbing;
  tasks: TaskService;
  scheduler: TaskScheduler;
  /** Starts the reaper, the channels and recovery. */
  start(): Promise<void>;
  /** Stops taking work, gives running turns `graceMs`, then stops channels, agents, proxy, network, store. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * The composition root: store, agents' plumbing (network, credential proxy, CA files), supervisor,
 * reaper, disk guard, channel registry and the message pipeline, wired once for `nestbox start`, the
 * Docker test harness and the benchmark alike.
 */
export async function createNestbox(o: NestboxOptions): Promise<Nestbox> {
  const record = { pid: process.pid, startedAt: Date.now(), version: nestboxVersion() };
  const ownLock = o.lock === undefined ? InstanceLock.acquire(o.config.dataDir, record) : null;
  try {
    return await assemble(o, o.lock ?? (ownLock as InstanceLock), ownLock);
  } catch (err) {
    ownLock?.release();
    throw err;
  }
}

async function assemble(
  o: NestboxOptions,
  lock: InstanceLock,
  ownLock: InstanceLock | null,
): Promise<Nestbox> {
  const { config, model, sandbox, docker, log } = o;
  const tuning = o.tuning ?? {};
  const store = Store.open(config.dataDir);
  const installId = store.meta.installId();
  const plumbing = await startAgentPlumbing(
    docker,
    config,
    model,
    sandbox,
    log,
    installId,
    tuning.proxyLimits,
  );
  const swarm = config.cluster.runtime.kind === "swarm" ? config.cluster.runtime : null;
  // On a swarm, chat folders are named volumes (nodes cannot see data/), created before each start.
  const ensureVolumes = swarm
    ? (chat: { folder: string; chatId: string }) => ensureChatVolumes(docker, installId, chat)
    : null;
  const supervisor = new AgentSupervisor({
    runtime: docker,
    ...(plumbing.dial
      ? { transport: tuning.dialTransport?.(plumbing.dial) ?? new DialTransport(plumbing.dial) }
      : {}),
    ...(ensureVolumes ? { prepareStorage: ensureVolumes } : {}),
    spec: {
      installId,
      image: config.agentImage,
      dataDir: config.dataDir,
      hostDataDir: config.hostDataDir,
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
      storage: swarm ? "volume" : "bind",
    },
    tokens: tuning.tokens ? tuning.tokens(plumbing.proxy) : plumbing.proxy,
    mountPolicy: mountPolicy(config),
    bindTokens: plumbing.bindsAddresses,
    log,
    idleTimeoutMs: config.agentIdleTimeoutMs,
    turnTimeoutMs: config.agentTurnTimeoutMs,
    ...(tuning.backoffMs === undefined ? {} : { backoffMs: tuning.backoffMs }),
    onTurnSent: tuning.onTurnSent,
  });
  const reaper = new Reaper({
    runtime: docker,
    installId,
    owned: () => supervisor.ownedContainers(),
    holdsDataFolder: () => lock.held,
    ownContainerId: sandbox.ownContainerId,
    log,
  });
  const registry = new ChannelRegistry(o.channels(store), log);
  const disk = new DiskGuard({
    dataDir: config.dataDir,
    chatLimitMb: config.disk.chatLimitMb,
    reserveMb: config.disk.reserveMb,
    log,
    onStoreLow: (message) => store.meta.setDiskLow(message),
    ...(tuning.diskWatchIntervalMs === undefined ? {} : { watchIntervalMs: tuning.diskWatchIntervalMs }),
  });
  // The scheduler asks the pipeline's queue for a chat's turn; the pipeline exists by the time it fires.
  let pipelineRef: Pipeline | null = null;
  const scheduler = new TaskScheduler({
    store,
    timezone: config.timezone,
    log,
    onDue: (chatId) => pipelineRef?.queue.enqueue(chatId),
  });
  const tasks = new TaskService({
    store,
    timezone: config.timezone,
    limits: config.tasks,
    onChange: () => scheduler.rearm(),
  });
  const taskTools = createTaskTools({
    service: tasks,
    store,
    timezone: config.timezone,
    registerChat: (input) => {
      const registered = registerChat(config.dataDir, {
        assistantName: config.assistantName,
        chat: {
          chatId: input.jid,
          channel: input.channel,
          name: input.name,
          folder: input.folder,
          trigger: input.trigger ?? `@${config.assistantName}`,
          requiresTrigger: input.requiresTrigger ?? true,
          isMain: false,
          allowedSenders: null,
          limits: null,
          extraMounts: [],
          createdAt: Date.now(),
        },
      });
      // Its volumes now, so the chat's storage exists from registration (the first start ensures it again).
      ensureVolumes?.({ folder: input.folder, chatId: input.jid }).catch((err: unknown) =>
        log.warn(
          { err, chatId: input.jid },
          "could not create the new chat's volumes yet; its first start will",
        ),
      );
      return registered;
    },
  });
  const pipeline = new Pipeline({
    store,
    registry,
    runtime: supervisor,
    log,
    maxConcurrentAgents: config.maxConcurrentAgents,
    disk,
    tasks: { maxFailures: config.tasks.maxFailures },
    hostTools: taskTools,
    limits: {
      maxMessages: config.catchupMaxMessages,
      maxChars: config.catchupMaxChars,
      timezone: config.timezone,
    },
  });
  pipelineRef = pipeline;
  let stopping: Promise<void> | null = null;
  return {
    store,
    installId,
    registry,
    pipeline,
    supervisor,
    reaper,
    plumbing,
    tasks,
    scheduler,
    async start() {
      await reaper.start();
      await pipeline.start();
      scheduler.start();
    },
    stop(graceMs = 0) {
      stopping ??= (async () => {
        reaper.stop();
        scheduler.stop();
        await pipeline.stop(graceMs);
        await closeAgentPlumbing(docker, plumbing, log);
        store.close();
        ownLock?.release();
      })();
      return stopping;
    },
  };
}
