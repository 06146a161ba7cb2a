import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { HostRunningError } from "../errors.js";
import { silentLogger } from "../log.js";
import { Store } from "../store/index.js";
import { Heartbeat } from "./heartbeat.js";
import { hostIsRunning, InstanceLock, readHostRecord } from "./instance-lock.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "nestbox-ilock-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const record = { pid: 4242, startedAt: Date.UTC(2026, 11, 1, 9), version: "9.9.9" };

it("holds the data folder: a second acquire is refused naming the holder, a release lets the next in", () => {
  expect(hostIsRunning(dir)).toBe(false);
  const lock = InstanceLock.acquire(dir, record);
  lock.setHealth("127.0.0.1", 41234);
  expect(hostIsRunning(dir)).toBe(true);
  expect(readHostRecord(dir)).toEqual({ ...record, healthHost: "127.0.0.1", healthPort: 41234 });
  let refused: unknown;
  try {
    InstanceLock.acquire(dir, { ...record, pid: 1 }, { waitMs: 0 });
  } catch (err) {
    refused = err;
  }
  expect(refused).toBeInstanceOf(HostRunningError);
  expect((refused as Error).message).toContain("pid 4242, started 2026-12-01T09:00:00.000Z");
  // The refused attempt changed nothing.
  expect(readHostRecord(dir)?.pid).toBe(4242);
  lock.release();
  expect(hostIsRunning(dir)).toBe(false);
  const next = InstanceLock.acquire(dir, { ...record, pid: 7 }, { waitMs: 0 });
  expect(readHostRecord(dir)).toMatchObject({ pid: 7, healthPort: null });
  next.release();
});

it("the heartbeat marks start, life and a clean stop in the store", async () => {
  let t = 1000;
  const store = Store.open(dir);
  const beat = new Heartbeat({ meta: store.meta, log: silentLogger(), intervalMs: 10, now: () => t });
  store.meta.markHostStopped(1);
  beat.start();
  expect(store.meta.hostLife()).toEqual({ startedAt: 1000, heartbeatAt: 1000, stoppedAt: null });
  t = 2000;
  await new Promise((r) => setTimeout(r, 50));
  expect(store.meta.hostLife().heartbeatAt).toBe(2000);
  t = 3000;
  beat.stop();
  expect(store.meta.hostLife()).toEqual({ startedAt: 1000, heartbeatAt: 3000, stoppedAt: 3000 });
  store.close();
});
