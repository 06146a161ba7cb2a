import { randomBytes } from "node:crypto";
import path from "node:path";
import type { ModelConfig } from "../config.js";
import type { RegisteredChat } from "../registration/chat.js";
import {
  agentProxyEnv,
  type CaFiles,
  daemonPath,
  type HostGateway,
  type ProxySettings,
} from "../sandbox/index.js";
import { chatVolumeMounts } from "./chat-volumes.js";
import type { BindMount, ContainerSpec } from "./container-runtime.js";
import { LABELS } from "./labels.js";

export { LABELS } from "./labels.js";

/** The Docker network every agent container of an install joins (one per install). */
export function agentNetworkName(installId: string): string {
  return `nestbox-${installId}`;
}

/** Installation-wide facts an agent container is built from. */
export interface AgentSpecContext {
  installId: string;
  image: string;
  dataDir: string;
  hostDataDir: string | null;
  assistantName: string;
  timezone: string;
  model: ModelConfig;
  /** The credential proxy's base URL as containers reach it. */
  modelBaseUrl: string;
  /** The agents' network ({@link agentNetworkName}); `gateway` is the host's address on it. */
  network: string;
  gateway: HostGateway;
  proxy: ProxySettings;
  ca: CaFiles | null;
  defaults: { memoryMb: number; cpus: number; pids: number };
  /** `uid:gid` the agent runs as (never 0). */
  user: string;
  /**
   * Where the chat's folders live: bind mounts of `data/` (local engine), or named volumes (a swarm,
   * whose nodes cannot see the host's files; skills, CA and extra mounts stay binds there).
   */
  storage?: "bind" | "volume";
}

/** Host folders of a chat (as nestbox sees them). */
export function chatDirs(dataDir: string, folder: string) {
  return {
    group: path.join(dataDir, "groups", folder),
    global: path.join(dataDir, "groups", "global"),
    sessions: path.join(dataDir, "sessions", folder),
    skills: path.join(dataDir, "skills"),
  };
}

/**
 * The mounts of a chat's agent: its own folder rw; global memory (rw for main, ro otherwise);
 * its sessions rw; skills and CA files ro; validated extra mounts. Never the Docker socket,
 * never `data/auth`, never `/dev/null`.
 */
export function agentMounts(chat: RegisteredChat, ctx: AgentSpecContext): BindMount[] {
  const dirs = chatDirs(ctx.dataDir, chat.folder);
  const host = (p: string) => daemonPath(p, ctx.dataDir, ctx.hostDataDir);
  const mounts: BindMount[] =
    ctx.storage === "volume"
      ? []
      : [
          { hostPath: host(dirs.group), containerPath: "/workspace/group", readOnly: false },
          { hostPath: host(dirs.global), containerPath: "/workspace/global", readOnly: !chat.isMain },
          { hostPath: host(dirs.sessions), containerPath: "/workspace/sessions", readOnly: false },
        ];
  mounts.push({ hostPath: host(dirs.skills), containerPath: "/workspace/skills", readOnly: true });
  if (ctx.ca) mounts.push({ hostPath: host(ctx.ca.dir), containerPath: "/workspace/ca", readOnly: true });
  for (const m of chat.extraMounts) {
    mounts.push({ hostPath: m.hostPath, containerPath: `/workspace/extra/${m.name}`, readOnly: m.readOnly });
  }
  return mounts;
}

/** The full container spec for a chat's agent; `token` is the per-container credential-proxy token. */
export function agentContainerSpec(
  chat: RegisteredChat,
  ctx: AgentSpecContext,
  token: string,
  now: number,
): ContainerSpec {
  const limits = { ...ctx.defaults, ...(chat.limits ?? {}) };
  const env: Record<string, string> = {
    NESTBOX_MODEL_PROVIDER: ctx.model.provider,
    NESTBOX_MODEL: ctx.model.name,
    NESTBOX_MODEL_BASE_URL: ctx.modelBaseUrl,
    NESTBOX_MODEL_TOKEN: token,
    ASSISTANT_NAME: ctx.assistantName,
    TZ: ctx.timezone,
    HOME: "/tmp/home",
    ...agentProxyEnv(ctx.proxy, ctx.gateway),
  };
  if (ctx.ca) {
    env.NODE_EXTRA_CA_CERTS = "/workspace/ca/extra.pem";
    env.SSL_CERT_FILE = "/workspace/ca/bundle.pem";
  }
  return {
    name: `nestbox-${ctx.installId}-${chat.folder}-${randomBytes(3).toString("hex")}`,
    image: ctx.image,
    labels: {
      [LABELS.install]: ctx.installId,
      [LABELS.folder]: chat.folder,
      [LABELS.chat]: chat.chatId,
      [LABELS.created]: new Date(now).toISOString(),
    },
    env,
    user: ctx.user,
    workingDir: "/workspace/group",
    mounts: agentMounts(chat, ctx),
    ...(ctx.storage === "volume" ? { volumes: chatVolumeMounts(ctx.installId, chat) } : {}),
    tmpfs: { "/tmp": "rw,nosuid,nodev,size=256m" },
    readOnlyRootfs: true,
    capDrop: ["ALL"],
    securityOpt: ["no-new-privileges"],
    init: true,
    memoryBytes: limits.memoryMb * 1024 * 1024,
    nanoCpus: Math.round(limits.cpus * 1e9),
    pidsLimit: limits.pids,
    network: ctx.network,
    extraHosts: [`${ctx.gateway.name}:${ctx.gateway.address}`],
    openStdin: true,
  };
}
