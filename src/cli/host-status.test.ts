import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import type { ChannelState } from "../channels/channel.js";
import { loadConfig } from "../config.js";
import type { ContainerInfo, ContainerRuntime } from "../containers/container-runtime.js";
import { type HealthServer, startHealthServer } from "../host/health-server.js";
import { InstanceLock } from "../host/instance-lock.js";
import { readinessOf } from "../host/readiness.js";
import { Store } from "../store/index.js";
import { hostStatus } from "./host-status.js";
import { hostLines } from "./host-status-lines.js";

let cwd: string;
let lock: InstanceLock | null;
let health: HealthServer | null;
beforeEach(() => {
  cwd = mkdtempSync(path.join(tmpdir(), "nestbox-hstatus-"));
  lock = null;
  health = null;
});
afterEach(async () => {
  await health?.close();
  lock?.release();
  rmSync(cwd, { recursive: true, force: true });
});

const config = () => loadConfig({ MODEL: "claude-x", ANTHROPIC_API_KEY: "sk-ant-secret" }, cwd);

// Engine doubles behind the interface: which containers exist is what these tests vary.
const engine = (containers: Partial<ContainerInfo>[]) =>
  ({
    version: async () => "28.0",
    list: async () => containers as ContainerInfo[],
  }) as unknown as ContainerRuntime;
const deadEngine = {
  version: async () => {
    throw new Error("connect ENOENT /var/run/docker.sock");
  },
  list: async () => [],
} as unknown as ContainerRuntime;

/** A host as `nestbox start` leaves it: the lock, the lifecycle marks and a live endpoint with these channels. */
async function liveHost(channels: Record<string, ChannelState>): Promise<void> {
  const c = config();
  const store = Store.open(c.dataDir);
  store.meta.set("install_id", "abcd1234");
  store.meta.markHostStarted(Date.now() - 65_000);
  store.meta.markHostAlive(Date.now());
  store.close();
  lock = InstanceLock.acquire(c.dataDir, {
    pid: process.pid,
    startedAt: Date.now() - 65_000,
    version: "0.1.0",
  });
  health = await startHealthServer({ host: "127.0.0.1", port: 0, version: "0.1.0", startedAt: Date.now() });
  lock.setHealth(health.host, health.port);
  health.setReadiness(
    readinessOf({
      store: () => {},
      docker: async () => "28.0",
      channels: () => channels,
      model: async () => "reachable",
    }),
  );
}

it("running and ready: exit 0, with uptime, channels and running agents", async () => {
  await liveHost({ telegram: "connected" });
  const r = await hostStatus(
    config(),
    engine([{ name: "nestbox-abcd1234-family-aaaaaa", running: true, labels: { "nestbox.chat": "tg:-1" } }]),
  );
  expect(r.exitCode).toBe(0);
  expect(r.host).toMatchObject({ state: "running", pid: process.pid, uptimeS: 65, heartbeatStale: false });
  expect(r.channels).toEqual({ telegram: "connected" });
  expect(r.agents).toEqual([{ name: "nestbox-abcd1234-family-aaaaaa", chatId: "tg:-1" }]);
  expect(r.orphans).toEqual([]);
  expect(r.model).toEqual({ provider: "anthropic", name: "claude-x", endpoint: "https://api.anthropic.com" });
  const text = hostLines(r).join("\n");
  expect(text).toContain("Host:     running, pid");
  expect(text).toContain("up 1m 5s");
  expect(text).toMatch(/^Ready: {4}yes \(http:\/\/127\.0\.0\.1:\d+\)$/m);
  expect(text).toContain("Channels: telegram connected");
  expect(JSON.stringify(r)).not.toContain("sk-ant-secret");
});

it("running with a channel down: exit 3 and the channel's reason", async () => {
  await liveHost({ telegram: "down: polling fails (network error), retrying", terminal: "connected" });
  const r = await hostStatus(config(), engine([]));
  expect(r.exitCode).toBe(3);
  expect(hostLines(r).join("\n")).toContain(
    "Ready:    NO: telegram down: polling fails (network error), retrying",
  );
});

it("running while Docker does not answer status: exit 4", async () => {
  await liveHost({ telegram: "connected" });
  const r = await hostStatus(config(), deadEngine);
  expect(r.exitCode).toBe(4);
  expect(r.dockerReachable).toBe(false);
});

it("crashed: the last host's containers are named as orphans, and status removes none", async () => {
  const c = config();
  const store = Store.open(c.dataDir);
  store.meta.set("install_id", "abcd1234");
  store.meta.markHostStarted(Date.UTC(2026, 11, 1, 8));
  store.meta.markHostAlive(Date.UTC(2026, 11, 1, 8, 30));
  const failed = store.turns.start("tg:-1", 1, 1, Date.UTC(2026, 11, 1, 8, 10));
  store.turns.finish(failed, "failed", Date.UTC(2026, 11, 1, 8, 11), {
    error: "model endpoint unreachable\nstack",
  });
  store.outbox.add("tg:-1", failed, "sorry", 0);
  store.close();
  InstanceLock.acquire(c.dataDir, {
    pid: 999_999,
    startedAt: Date.UTC(2026, 11, 1, 8),
    version: "0.1.0",
  }).release();
  const removed: string[] = [];
  const docker = {
    ...engine([{ name: "nestbox-abcd1234-family-bbbbbb", running: true, labels: {} }]),
    remove: async (id: string) => removed.push(id),
  } as unknown as ContainerRuntime;
  const r = await hostStatus(c, docker);
  expect(r.exitCode).toBe(2);
  expect(r.host).toMatchObject({
    state: "crashed",
    pid: 999_999,
    startedAt: "2026-12-01T08:00:00.000Z",
    lastHeartbeatAt: "2026-12-01T08:30:00.000Z",
    stoppedAt: null,
  });
  expect(r.orphans).toEqual(["nestbox-abcd1234-family-bbbbbb"]);
  expect(r.lastErrors).toEqual([
    { chatId: "tg:-1", at: "2026-12-01T08:11:00.000Z", error: "model endpoint unreachable\nstack" },
  ]);
  expect(r.pendingReplies).toBe(1);
  const text = hostLines(r).join("\n");
  expect(text).toContain(
    "Host:     CRASHED: pid 999999 started 2026-12-01T08:00:00.000Z, last heartbeat at 2026-12-01T08:30:00.000Z",
  );
  expect(text).toContain("Orphans:  nestbox-abcd1234-family-bbbbbb (no live host owns them");
  expect(text).toContain("  2026-12-01T08:11:00.000Z tg:-1: model endpoint unreachable");
  expect(text).toContain("Pending:  1 reply not yet delivered");
  expect(removed).toEqual([]);
});

it("running but silent: no heartbeat for 15 s, or no health endpoint, is not ready (exit 3)", async () => {
  await liveHost({ telegram: "connected" });
  const c = config();
  const store = Store.open(c.dataDir);
  store.meta.markHostAlive(Date.now() - 20_000);
  store.close();
  const stale = await hostStatus(c, engine([]));
  expect(stale.host.heartbeatStale).toBe(true);
  expect(stale.exitCode).toBe(3);
  expect(hostLines(stale).join("\n")).toMatch(/^Ready: {4}NO: no heartbeat since 20\S+Z \(hung\?\)$/m);

  // NESTBOX_HEALTH=off: the lock holds no port, so readiness cannot be known.
  lock?.setHealth(null, null);
  const store2 = Store.open(c.dataDir);
  store2.meta.markHostAlive(Date.now());
  store2.close();
  const off = await hostStatus(c, engine([]));
  expect(off.exitCode).toBe(3);
  expect(off.host.health).toEqual({
    url: null,
    error: "the host has no health endpoint (NESTBOX_HEALTH=off, or still starting)",
  });
});
