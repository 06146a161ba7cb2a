import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Schedule } from "../tasks/task.js";
import { openDb } from "./db.js";
import { Store } from "./index.js";
import { migrations } from "./migrations.js";
import { INTERRUPTED_AFTER_REPLY, INTERRUPTED_TWICE } from "./tasks.js";

let dir: string;
let store: Store;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "nestbox-tasks-"));
  store = Store.open(dir);
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const every10m: Schedule = { type: "interval", value: "600000" };
const onceAt: Schedule = { type: "once", value: "5000" };
const add = (over: { chatId?: string; schedule?: Schedule; nextRunAt?: number } = {}) =>
  store.tasks.add({
    chatId: over.chatId ?? "tg:1",
    prompt: "check the page",
    schedule: over.schedule ?? every10m,
    contextMode: "group",
    nextRunAt: over.nextRunAt ?? 1000,
    createdBy: "chat tg:1 (Alice)",
    now: 10,
  });

describe("TasksTable", () => {
  it("adds an active task and reads it back in camelCase", () => {
    const t = add();
    expect(store.tasks.get(t.id)).toEqual({
      id: t.id,
      chatId: "tg:1",
      prompt: "check the page",
      schedule: every10m,
      contextMode: "group",
      status: "active",
      nextRunAt: 1000,
      lastRunAt: null,
      lastResult: null,
      lastError: null,
      consecutiveFailures: 0,
      createdBy: "chat tg:1 (Alice)",
      createdAt: 10,
      updatedAt: 10,
    });
    expect(store.tasks.get(999)).toBeNull();
  });

  it("lists by id, per chat or all, and counts active and paused tasks only", () => {
    const a = add();
    const b = add({ chatId: "tg:2" });
    const c = add();
    store.tasks.update(c.id, { status: "paused", nextRunAt: null }, 20);
    const d = add();
    store.tasks.update(d.id, { status: "done", nextRunAt: null }, 20);
    expect(store.tasks.list().map((t) => t.id)).toEqual([a.id, b.id, c.id, d.id]);
    expect(store.tasks.list("tg:1").map((t) => t.id)).toEqual([a.id, c.id, d.id]);
    expect(store.tasks.activeCount("tg:1")).toBe(2);
    expect(store.tasks.activeCount("tg:2")).toBe(1);
    expect(store.tasks.activeCount("tg:3")).toBe(0);
  });

  it("updates only the given fields and refuses an unknown id", () => {
    const t = add();
    const u = store.tasks.update(t.id, { prompt: "new", schedule: { type: "cron", value: "0 8 * * *" } }, 30);
    expect(u).toMatchObject({
      prompt: "new",
      schedule: { type: "cron", value: "0 8 * * *" },
      nextRunAt: 1000,
    });
    expect(u.updatedAt).toBe(30);
    expect(() => store.tasks.update(999, { prompt: "x" }, 30)).toThrow(/task 999 is not in the store/);
  });

  it("finds due active tasks by next run, and the earliest next run", () => {
    const late = add({ nextRunAt: 3000 });
    const early = add({ nextRunAt: 2000 });
    const paused = add({ nextRunAt: 500 });
    store.tasks.update(paused.id, { status: "paused" }, 20);
    expect(store.tasks.nextDueAt()).toBe(2000);
    expect(store.tasks.due(1999)).toEqual([]);
    expect(store.tasks.due(3000).map((t) => t.id)).toEqual([early.id, late.id]);
    store.tasks.update(early.id, { nextRunAt: null }, 20);
    store.tasks.update(late.id, { status: "done", nextRunAt: null }, 20);
    expect(store.tasks.nextDueAt()).toBeNull();
  });

  it("records a success: failures reset, the first 200 characters kept; a once-task is then done", () => {
    const t = add();
    store.tasks.recordFailure(t.id, 50, "boom", 3);
    const ok = store.tasks.recordSuccess(t.id, 60, "x".repeat(300));
    expect(ok).toMatchObject({ status: "active", consecutiveFailures: 0, lastRunAt: 60, lastError: null });
    expect(ok.lastResult).toBe("x".repeat(200));
    expect(ok.nextRunAt).toBe(1000);
    const once = add({ schedule: onceAt, nextRunAt: 5000 });
    store.taskRuns.fire(once.id, 5000, null, 5000);
    expect(store.tasks.recordSuccess(once.id, 5100, "reminded")).toMatchObject({
      status: "done",
      nextRunAt: null,
      lastResult: "reminded",
    });
  });

  it("pauses an active task at maxFailures in a row, and says so once", () => {
    const t = add();
    expect(store.tasks.recordFailure(t.id, 1, "e1", 3)).toMatchObject({
      paused: false,
      task: { status: "active", consecutiveFailures: 1, lastError: "e1", nextRunAt: 1000 },
    });
    expect(store.tasks.recordFailure(t.id, 2, "e2", 3).paused).toBe(false);
    expect(store.tasks.recordFailure(t.id, 3, "e3", 3)).toMatchObject({
      paused: true,
      task: { status: "paused", consecutiveFailures: 3, lastError: "e3", nextRunAt: null, lastRunAt: 3 },
    });
    // A run that was already queued fails too: still paused, not announced again.
    expect(store.tasks.recordFailure(t.id, 4, "e4", 3)).toMatchObject({
      paused: false,
      task: { status: "paused", consecutiveFailures: 4 },
    });
  });

  it("fails a once-task whose run failed", () => {
    const once = add({ schedule: onceAt, nextRunAt: 5000 });
    store.taskRuns.fire(once.id, 5000, null, 5000);
    expect(store.tasks.recordFailure(once.id, 5100, "model down", 3)).toMatchObject({
      paused: false,
      task: { status: "failed", nextRunAt: null, consecutiveFailures: 1, lastError: "model down" },
    });
  });
});

describe("TaskRunsTable", () => {
  it("fires a queued run and moves the task's next run, in one step", () => {
    const t = add({ nextRunAt: 1000 });
    const run = store.taskRuns.fire(t.id, 1000, 1_600_000, 1005);
    expect(run).toEqual({
      id: run?.id,
      taskId: t.id,
      chatId: "tg:1",
      scheduledFor: 1000,
      status: "queued",
      queuedAt: 1005,
      startedAt: null,
      endedAt: null,
      error: null,
      errorCode: null,
      replies: 0,
      replyChars: 0,
      attempts: 0,
    });
    expect(store.tasks.get(t.id)?.nextRunAt).toBe(1_600_000);
    expect(store.taskRuns.queuedFor("tg:1")).toEqual([run]);
    expect(store.taskRuns.chatsWithQueued()).toEqual(["tg:1"]);
  });

  it("never queues a second run while one is queued or running: no burst", () => {
    const t = add();
    const first = store.taskRuns.fire(t.id, 1000, 2000, 1000);
    expect(store.taskRuns.fire(t.id, 2000, 3000, 2000)).toBeNull();
    expect(store.tasks.get(t.id)?.nextRunAt).toBe(3000);
    store.taskRuns.start(first?.id ?? 0, 2500);
    expect(store.taskRuns.fire(t.id, 3000, 4000, 3000)).toBeNull();
    expect(store.taskRuns.forTask(t.id)).toHaveLength(1);
    store.taskRuns.finish(first?.id ?? 0, "done", 3500);
    expect(store.taskRuns.fire(t.id, 4000, 5000, 4000)).toMatchObject({
      scheduledFor: 4000,
      status: "queued",
    });
    expect(store.taskRuns.forTask(t.id).map((r) => r.scheduledFor)).toEqual([4000, 1000]);
  });

  it("leaves a task that is no longer active alone", () => {
    const t = add();
    store.tasks.update(t.id, { status: "paused", nextRunAt: null }, 20);
    expect(store.taskRuns.fire(t.id, 1000, 2000, 1000)).toBeNull();
    expect(store.tasks.get(t.id)).toMatchObject({ status: "paused", nextRunAt: null });
    expect(store.taskRuns.forTask(t.id)).toEqual([]);
    expect(() => store.taskRuns.fire(999, 1, 2, 1)).toThrow(/task 999 is not in the store/);
  });

  it("sets a fired once-task's next run to null", () => {
    const once = add({ schedule: onceAt, nextRunAt: 5000 });
    store.taskRuns.fire(once.id, 5000, null, 5000);
    expect(store.tasks.get(once.id)).toMatchObject({ status: "active", nextRunAt: null });
    expect(store.tasks.nextDueAt()).toBeNull();
  });

  it("tracks a run from start to finish and lists chats with queued runs oldest first", () => {
    const a = add({ chatId: "tg:2" });
    const b = add({ chatId: "tg:1" });
    const ra = store.taskRuns.fire(a.id, 1000, 2000, 1000);
    const rb = store.taskRuns.fire(b.id, 1000, 2000, 1001);
    expect(store.taskRuns.chatsWithQueued()).toEqual(["tg:2", "tg:1"]);
    store.taskRuns.start(ra?.id ?? 0, 1100);
    store.taskRuns.addReply(ra?.id ?? 0, 12);
    store.taskRuns.addReply(ra?.id ?? 0, 30);
    store.taskRuns.finish(ra?.id ?? 0, "done", 1200);
    expect(store.taskRuns.get(ra?.id ?? 0)).toMatchObject({
      status: "done",
      startedAt: 1100,
      endedAt: 1200,
      attempts: 1,
      replies: 2,
      replyChars: 42,
      error: null,
    });
    expect(store.taskRuns.chatsWithQueued()).toEqual(["tg:1"]);
    store.taskRuns.start(rb?.id ?? 0, 1300);
    store.taskRuns.finish(rb?.id ?? 0, "failed", 1400, { error: "timed out", errorCode: "TURN_TIMEOUT" });
    expect(store.taskRuns.recentFailures(5)).toMatchObject([
      { id: rb?.id, error: "timed out", errorCode: "TURN_TIMEOUT" },
    ]);
    expect(store.taskRuns.queuedFor("tg:1")).toEqual([]);
  });

  it("recovers runs left running: replied = done, not replied = queued again, twice = failed", () => {
    const replied = store.taskRuns.fire(add().id, 1, 2, 1);
    const fresh = store.taskRuns.fire(add().id, 1, 2, 1);
    const retried = store.taskRuns.fire(add().id, 1, 2, 1);
    const waiting = store.taskRuns.fire(add().id, 1, 2, 1);
    for (const r of [replied, fresh, retried]) store.taskRuns.start(r?.id ?? 0, 5);
    store.taskRuns.addReply(replied?.id ?? 0, 10);
    store.taskRuns.start(retried?.id ?? 0, 6); // second attempt
    const recovered = store.taskRuns.recoverRunning(9);
    expect(recovered).toMatchObject([
      { id: replied?.id, status: "done", endedAt: 9, error: INTERRUPTED_AFTER_REPLY },
      { id: fresh?.id, status: "queued", attempts: 1, endedAt: null },
      { id: retried?.id, status: "failed", attempts: 2, endedAt: 9, error: INTERRUPTED_TWICE },
    ]);
    expect(store.taskRuns.get(waiting?.id ?? 0)?.status).toBe("queued");
    expect(store.taskRuns.queuedFor("tg:1").map((r) => r.id)).toEqual([fresh?.id, waiting?.id]);
    expect(store.taskRuns.recoverRunning(10)).toEqual([]);
  });

  it("keeps a task's runs newest first, limited", () => {
    const t = add();
    for (let i = 0; i < 3; i++) {
      const r = store.taskRuns.fire(t.id, i, i + 1, i);
      store.taskRuns.finish(r?.id ?? 0, "done", i);
    }
    expect(store.taskRuns.forTask(t.id, 2).map((r) => r.scheduledFor)).toEqual([2, 1]);
  });

  it("forgets a purged chat's tasks and runs", () => {
    const t = add();
    const other = add({ chatId: "tg:2" });
    store.taskRuns.fire(t.id, 1, 2, 1);
    store.forgetChat("tg:1");
    expect(store.tasks.list().map((x) => x.id)).toEqual([other.id]);
    expect(store.taskRuns.chatsWithQueued()).toEqual([]);
  });
});

describe("migration 4", () => {
  it("adds the task tables to a version-3 database, keeping its rows", () => {
    const file = path.join(dir, "old.db");
    const old = new Database(file);
    for (const step of migrations.slice(0, 3)) old.exec(step);
    old.pragma("user_version = 3");
    old
      .prepare("INSERT INTO outbox (chat_id, text, status, created_at) VALUES ('tg:1', 'a', 'pending', 1)")
      .run();
    old.close();
    const upgraded = new Store(openDb(file));
    expect(upgraded.db.pragma("user_version", { simple: true })).toBe(migrations.length);
    expect(upgraded.outbox.list()).toHaveLength(1);
    const t = upgraded.tasks.add({
      chatId: "tg:1",
      prompt: "p",
      schedule: every10m,
      contextMode: "isolated",
      nextRunAt: 5,
      createdBy: "cli",
      now: 1,
    });
    expect(upgraded.taskRuns.fire(t.id, 5, 6, 5)).toMatchObject({ taskId: t.id, status: "queued" });
    upgraded.close();
  });
});
