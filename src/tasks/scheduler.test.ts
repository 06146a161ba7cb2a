import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { makeChat } from "../../test/doubles/chat.js";
import { silentLogger } from "../log.js";
import { Store } from "../store/index.js";
import { TaskScheduler, type Timers } from "./scheduler.js";
import { TaskService } from "./service.js";

/** A fake clock: timers fire only when the test moves time on. */
class FakeClock implements Timers {
  now: number;
  readonly #timers = new Map<number, { at: number; fn: () => void }>();
  #id = 0;
  constructor(start: string) {
    this.now = Date.parse(start);
  }
  setTimeout(fn: () => void, ms: number): unknown {
    this.#id += 1;
    this.#timers.set(this.#id, { at: this.now + ms, fn });
    return this.#id;
  }
  clearTimeout(t: unknown): void {
    this.#timers.delete(t as number);
  }
  /** Due times of the pending timers, soonest first. */
  pending(): number[] {
    return [...this.#timers.values()].map((t) => t.at).sort((a, b) => a - b);
  }
  /** Moves the clock to `to` (ISO text or ms since epoch), firing every timer due on the way, in order. */
  advance(to: string | number): void {
    const target = typeof to === "number" ? to : Date.parse(to);
    for (;;) {
      const next = [...this.#timers.entries()]
        .filter(([, t]) => t.at <= target)
        .sort((a, b) => a[1].at - b[1].at)[0];
      if (!next) break;
      this.#timers.delete(next[0]);
      this.now = Math.max(this.now, next[1].at);
      next[1].fn();
    }
    this.now = target;
  }
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

const CHAT = "tg:1";

function rig(start: string, timezone = "UTC") {
  const dir = mkdtempSync(path.join(tmpdir(), "nestbox-scheduler-"));
  const store = Store.open(dir);
  store.chats.insert(makeChat({ chatId: CHAT, folder: "one" }));
  const clock = new FakeClock(start);
  const due: string[] = [];
  const scheduler = new TaskScheduler({
    store,
    timezone,
    log: silentLogger(),
    onDue: (chatId) => due.push(chatId),
    now: () => clock.now,
    timers: clock,
    recheckMs: 0,
  });
  const service = new TaskService({
    store,
    timezone,
    limits: { minIntervalMs: 60_000, maxPerChat: 20, maxFailures: 3 },
    now: () => clock.now,
    onChange: () => scheduler.rearm(),
  });
  cleanups.push(() => {
    scheduler.stop();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const add = (scheduleType: string, scheduleValue: string) =>
    service.schedule({ kind: "cli" }, { chatId: CHAT, prompt: "p", scheduleType, scheduleValue });
  /** Finishes the queued runs, as the pipeline would. */
  const finishRuns = () => {
    for (const run of store.taskRuns.queuedFor(CHAT)) {
      store.taskRuns.start(run.id, clock.now);
      store.taskRuns.finish(run.id, "done", clock.now);
      store.tasks.recordSuccess(run.taskId, clock.now, "ok");
    }
  };
  const runs = (taskId: number) =>
    store.taskRuns
      .forTask(taskId, 1000)
      .map((r) => new Date(r.scheduledFor).toISOString())
      .reverse();
  return { store, clock, due, scheduler, service, add, finishRuns, runs };
}

describe("task scheduler (fake clock)", () => {
  it("arms one exact timer for the earliest due time and fires the task at it, not a minute later", () => {
    const t = rig("2026-12-01T07:59:30Z");
    t.scheduler.start();
    const task = t.add("cron", "0 8 * * *");
    expect(t.clock.pending()).toEqual([Date.parse("2026-12-01T08:00:00Z")]);
    t.clock.advance("2026-12-01T07:59:59.999Z");
    expect(t.due).toEqual([]);
    t.clock.advance("2026-12-01T08:00:00Z");
    expect(t.due).toEqual([CHAT]);
    expect(t.runs(task.id)).toEqual(["2026-12-01T08:00:00.000Z"]);
    expect(t.store.tasks.get(task.id)?.nextRunAt).toBe(Date.parse("2026-12-02T08:00:00Z"));
    expect(t.clock.pending()).toEqual([Date.parse("2026-12-02T08:00:00Z")]);
  });

  it("keeps 08:00 local time across both DST changes (Europe/Berlin)", () => {
    const t = rig("2026-03-27T12:00:00Z", "Europe/Berlin");
    t.scheduler.start();
    const task = t.add("cron", "0 8 * * *");
    for (let day = 0; day < 3; day++) {
      t.clock.advance(t.clock.pending()[0] as number);
      t.finishRuns();
    }
    // 08:00 CET is 07:00Z; from 2026-03-29, 08:00 CEST is 06:00Z.
    expect(t.runs(task.id)).toEqual([
      "2026-03-28T07:00:00.000Z",
      "2026-03-29T06:00:00.000Z",
      "2026-03-30T06:00:00.000Z",
    ]);
    const autumn = rig("2026-10-24T12:00:00Z", "Europe/Berlin");
    autumn.scheduler.start();
    const a = autumn.add("cron", "30 2 * * *");
    for (let day = 0; day < 3; day++) {
      autumn.clock.advance(autumn.clock.pending()[0] as number);
      autumn.finishRuns();
    }
    // 02:30 happens twice on 2026-10-25 (CEST, then CET): the task runs once that day.
    expect(autumn.runs(a.id)).toEqual([
      "2026-10-25T00:30:00.000Z",
      "2026-10-26T01:30:00.000Z",
      "2026-10-27T01:30:00.000Z",
    ]);
  });

  it("after downtime a task runs once on start, not once per missed time, and keeps its rhythm", () => {
    const t = rig("2026-12-01T08:00:00Z");
    const task = t.add("interval", "10m");
    expect(task.nextRunAt).toBe(Date.parse("2026-12-01T08:10:00Z"));
    // The host was down from 08:05 to 11:03: 17 runs were missed.
    t.clock.advance("2026-12-01T11:03:00Z");
    t.scheduler.start();
    expect(t.due).toEqual([CHAT]);
    expect(t.runs(task.id)).toEqual(["2026-12-01T08:10:00.000Z"]);
    expect(t.store.tasks.get(task.id)?.nextRunAt).toBe(Date.parse("2026-12-01T11:10:00Z"));
  });

  it("a task due again while its last run still waits in the chat's queue gets no second run", () => {
    const t = rig("2026-12-01T08:00:00Z");
    t.scheduler.start();
    const task = t.add("interval", "1m");
    t.clock.advance("2026-12-01T08:05:30Z");
    expect(t.runs(task.id)).toEqual(["2026-12-01T08:01:00.000Z"]);
    expect(t.store.tasks.get(task.id)?.nextRunAt).toBe(Date.parse("2026-12-01T08:06:00Z"));
    t.finishRuns();
    t.clock.advance("2026-12-01T08:06:00Z");
    expect(t.runs(task.id)).toEqual(["2026-12-01T08:01:00.000Z", "2026-12-01T08:06:00.000Z"]);
  });

  it("a once-task fires once; a paused task never fires and a resumed one is armed again", () => {
    const t = rig("2026-12-01T08:00:00Z");
    t.scheduler.start();
    const once = t.add("once", "in 5m");
    t.clock.advance("2026-12-01T09:00:00Z");
    t.finishRuns();
    expect(t.runs(once.id)).toEqual(["2026-12-01T08:05:00.000Z"]);
    expect(t.store.tasks.get(once.id)?.status).toBe("done");
    const every = t.add("interval", "10m");
    t.service.pause({ kind: "cli" }, every.id);
    expect(t.clock.pending()).toEqual([]);
    t.clock.advance("2026-12-01T12:00:00Z");
    expect(t.runs(every.id)).toEqual([]);
    t.service.resume({ kind: "cli" }, every.id);
    expect(t.clock.pending()).toEqual([Date.parse("2026-12-01T12:10:00Z")]);
  });

  it("a due time beyond setTimeout's range is reached by re-arming, not by firing early", () => {
    const t = rig("2026-12-01T08:00:00Z");
    t.scheduler.start();
    const far = t.add("once", "2027-06-01T08:00:00Z");
    expect(t.clock.pending()[0]).toBe(t.clock.now + 2 ** 31 - 1);
    t.clock.advance(t.clock.pending()[0] as number);
    expect(t.runs(far.id)).toEqual([]);
    expect(t.clock.pending()).toHaveLength(1);
    t.clock.advance("2027-06-01T08:00:00Z");
    expect(t.runs(far.id)).toEqual(["2027-06-01T08:00:00.000Z"]);
  });
});
