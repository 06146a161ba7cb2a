import { existsSync } from "node:fs";
import path from "node:path";
import type { ChannelState } from "../channels/channel.js";
import type { Config } from "../config.js";
import { LABELS } from "../containers/agent-spec.js";
import type { ContainerRuntime } from "../containers/container-runtime.js";
import { NestboxError } from "../errors.js";
import { Heartbeat } from "../host/heartbeat.js";
import { hostIsRunning, readHostRecord } from "../host/instance-lock.js";
import type { Readiness } from "../host/readiness.js";
import { Store } from "../store/index.js";

/** Exit codes of `nestbox status`, for scripts. */
export const STATUS_EXIT = { ready: 0, error: 1, notRunning: 2, notReady: 3, dockerUnreachable: 4 } as const;

/** Whether a host runs on the data folder, as the lock, the lifecycle marks and the health endpoint say. */
export interface HostStatus {
  /** running: a live process holds the lock; crashed: the last host neither holds it nor stopped cleanly. */
  state: "running" | "stopped" | "crashed";
  /** The running host's, or the last one's (null when none ever ran here). */
  pid: number | null;
  startedAt: string | null;
  uptimeS: number | null;
  version: string | null;
  lastHeartbeatAt: string | null;
  stoppedAt: string | null;
  /** Running, but no heartbeat for three intervals: hung, or its disk is failing. */
  heartbeatStale: boolean;
  /** The health endpoint the host listens on, and why status could not read it. */
  health: { url: string | null; error: string | null };
  /** The host's own `/readyz` answer; null when it could not be read. */
  readiness: Readiness | null;
}

/** The host part of `nestbox status`. */
export interface HostReport {
  dataDir: string;
  host: HostStatus;
  /** The configured model: provider, name and endpoint origin; never a key. */
  model: { provider: string; name: string; endpoint: string } | null;
  channels: Record<string, ChannelState>;
  /** Whether status itself reached the Docker engine. */
  dockerReachable: boolean;
  /** Agent containers of this install that run now. */
  agents: { name: string; chatId: string | null }[];
  /** Where agents run (AGENT_RUNTIME): containers on the local engine, or swarm services. */
  runtime: "local" | "swarm";
  /** Agent containers of this install while no host runs: left by a crash (the next start removes them). */
  orphans: string[];
  /** The newest failed turns, newest first. */
  lastErrors: { chatId: string; at: string; error: string }[];
  /** Replies stored and not yet confirmed by their platform. */
  pendingReplies: number;
  /** What `nestbox status` exits with (see {@link STATUS_EXIT}). */
  exitCode: number;
}

/** What {@link hostStatus} may be given instead of the real network and clock. */
export interface HostStatusOptions {
  fetch?: typeof fetch;
  now?: () => number;
  timeoutMs?: number;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** Races `p` against a timeout, so a silent Docker socket or endpoint never hangs `status`. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Reads the data folder's lock, lifecycle marks and store, the host's health endpoint and the engine.
 * Throws a NestboxError (exit 1) when the data folder does not exist: a mistyped NESTBOX_DATA_DIR is
 * an error, not "not started yet". Never removes or changes anything.
 */
export async function hostStatus(
  config: Config,
  docker: ContainerRuntime,
  options: HostStatusOptions = {},
): Promise<HostReport> {
  const { dataDir } = config;
  if (!existsSync(dataDir)) {
    throw new NestboxError(
      "DATA_DIR_MISSING",
      `there is no data folder at ${dataDir}: set NESTBOX_DATA_DIR to the folder nestbox start uses (default ./data in the project folder)`,
    );
  }
  const now = (options.now ?? Date.now)();
  const timeoutMs = options.timeoutMs ?? 3000;
  const running = hostIsRunning(dataDir);
  const record = readHostRecord(dataDir);
  let life = {
    startedAt: null as number | null,
    heartbeatAt: null as number | null,
    stoppedAt: null as number | null,
  };
  let installId: string | null = null;
  let lastErrors: HostReport["lastErrors"] = [];
  let pendingReplies = 0;
  if (existsSync(path.join(dataDir, "nestbox.db"))) {
    const store = Store.open(dataDir);
    try {
      life = store.meta.hostLife();
      installId = store.meta.get("install_id");
      lastErrors = store.turns.recentFailures(5).map((t) => ({
        chatId: t.chatId,
        at: new Date(t.endedAt ?? t.startedAt).toISOString(),
        error: t.error ?? "(no detail)",
      }));
      pendingReplies = store.outbox
        .list()
        .filter((r) => r.status === "pending" || r.status === "sending").length;
    } finally {
      store.close();
    }
  }
  const crashed =
    !running && life.startedAt !== null && (life.stoppedAt === null || life.stoppedAt < life.startedAt);
  const host: HostStatus = {
    state: running ? "running" : crashed ? "crashed" : "stopped",
    pid: record?.pid ?? null,
    startedAt: iso(record?.startedAt ?? life.startedAt),
    uptimeS: running && record ? Math.max(0, Math.round((now - record.startedAt) / 1000)) : null,
    version: record?.version ?? null,
    lastHeartbeatAt: iso(life.heartbeatAt),
    stoppedAt: running ? null : iso(life.stoppedAt),
    heartbeatStale:
      running && (life.heartbeatAt === null || now - life.heartbeatAt > 3 * Heartbeat.DEFAULT_INTERVAL_MS),
    health: { url: null, error: null },
    readiness: null,
  };
  if (running) await readHealth(host, record, options.fetch ?? fetch, timeoutMs);

  let dockerReachable = true;
  let agents: HostReport["agents"] = [];
  let orphans: string[] = [];
  try {
    await within(docker.version(), timeoutMs, "the Docker engine");
    if (installId) {
      const mine = await within(docker.list({ [LABELS.install]: installId }), timeoutMs, "the Docker engine");
      agents = mine
        .filter((c) => c.running)
        .map((c) => ({ name: c.name, chatId: c.labels[LABELS.chat] ?? null }));
      if (!running) orphans = mine.map((c) => c.name);
    }
  } catch {
    dockerReachable = false;
  }

  const model = config.model
    ? {
        provider: config.model.provider,
        name: config.model.name,
        endpoint: new URL(config.model.baseUrl).origin,
      }
    : null;
  const report: HostReport = {
    runtime: config.cluster.runtime.kind,
    dataDir,
    host,
    model,
    channels: host.readiness?.checks.channels ?? {},
    dockerReachable,
    agents,
    orphans,
    lastErrors,
    pendingReplies,
    exitCode: 0,
  };
  report.exitCode = exitCodeOf(report);
  return report;
}

async function readHealth(
  host: HostStatus,
  record: ReturnType<typeof readHostRecord>,
  fetchFn: typeof fetch,
  timeoutMs: number,
): Promise<void> {
  if (!record?.healthPort) {
    host.health.error = "the host has no health endpoint (NESTBOX_HEALTH=off, or still starting)";
    return;
  }
  const address =
    record.healthHost === "0.0.0.0" || !record.healthHost
      ? "127.0.0.1"
      : record.healthHost === "::"
        ? "::1"
        : record.healthHost;
  const base = `http://${address.includes(":") ? `[${address}]` : address}:${record.healthPort}`;
  host.health.url = base;
  try {
    // Twice the engine's timeout: the host's own Docker and model checks take up to that each.
    const res = await fetchFn(`${base}/readyz`, { signal: AbortSignal.timeout(2 * timeoutMs) });
    host.readiness = (await res.json()) as Readiness;
  } catch (err) {
    host.health.error = `no answer from ${base}/readyz (${(err as Error).message})`;
  }
}

/** 0 running and ready, 2 not running, 4 running but Docker does not answer, 3 running but not ready. */
export function exitCodeOf(r: HostReport): number {
  if (r.host.state !== "running") return STATUS_EXIT.notRunning;
  const hostDocker = r.host.readiness?.checks.docker ?? "ok";
  if (!r.dockerReachable || hostDocker.startsWith("unreachable")) return STATUS_EXIT.dockerUnreachable;
  if (r.host.readiness?.ready !== true || r.host.heartbeatStale) return STATUS_EXIT.notReady;
  return STATUS_EXIT.ready;
}
