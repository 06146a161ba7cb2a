import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeChat } from "../../test/doubles/chat.js";
import { TaskInputError, TaskNotFoundError, TaskPermissionError } from "../errors.js";
import { openDb } from "../store/db.js";
import { Store } from "../store/index.js";
import { type TaskActor, TaskService } from "./service.js";

const TZ = "Europe/Berlin";
const T0 = Date.parse("2026-12-01T07:00:00Z"); // Tue 08:00 in Berlin
const main = makeChat({ chatId: "tg:1", folder: "main", isMain: true, requiresTrigger: false });
const family = makeChat({ chatId: "tg:-100", folder: "family" });
const work = makeChat({ chatId: "tg:-200", folder: "work" });
const asChat = (chat = family, senderName = "Alice"): TaskActor => ({ kind: "chat", chat, senderName });
const cli: TaskActor = { kind: "cli" };
const every10m = { prompt: "check the page", scheduleType: "interval", scheduleValue: "10m" };

let store: Store;
let clock: number;
let changes: number;
let service: TaskService;
beforeEach(() => {
  store = new Store(openDb(":memory:"));
  for (const chat of [main, family, work]) store.chats.insert(chat);
  clock = T0;
  changes = 0;
  service = new TaskService({
    store,
    timezone: TZ,
    limits: { minIntervalMs: 60_000, maxPerChat: 3, maxFailures: 3 },
    now: () => clock,
    onChange: () => {
      changes++;
    },
  });
});
afterEach(() => store.close());

/** The error `fn` throws, checked to be of `type`. */
function refusal(type: new (...args: never[]) => Error, fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(type);
    return (err as Error).message;
  }
  throw new Error(`expected a ${type.name}`);
}

describe("TaskService.schedule", () => {
  it("schedules a task for the asking chat, in group context by default, and signals the change", () => {
    const task = service.schedule(asChat(), every10m);
    expect(task).toMatchObject({
      chatId: family.chatId,
      prompt: "check the page",
      schedule: { type: "interval", value: "600000" },
      contextMode: "group",
      status: "active",
      nextRunAt: T0 + 600_000,
      createdBy: "chat tg:-100 (Alice)",
      createdAt: T0,
    });
    expect(store.tasks.get(task.id)).toEqual(task);
    expect(changes).toBe(1);
  });

  it("computes a cron task's first run in the zone and takes isolated context", () => {
    const task = service.schedule(asChat(family, "Bob\nsmith"), {
      prompt: "  weather and calendar  ",
      scheduleType: "cron",
      scheduleValue: "0 8 * * 1-5",
      contextMode: "isolated",
    });
    expect(task).toMatchObject({
      prompt: "weather and calendar",
      contextMode: "isolated",
      nextRunAt: Date.parse("2026-12-02T07:00:00Z"),
      createdBy: "chat tg:-100 (Bob smith)",
    });
  });

  it("refuses a context mode other than group or isolated", () => {
    expect(
      refusal(TaskInputError, () => service.schedule(asChat(), { ...every10m, contextMode: "shared" })),
    ).toBe('context_mode must be "group" or "isolated", got "shared"');
    expect(changes).toBe(0);
  });

  it("passes schedule validation through, minimum interval included", () => {
    expect(
      refusal(TaskInputError, () => service.schedule(asChat(), { ...every10m, scheduleValue: "30s" })),
    ).toBe('interval "30s" is shorter than the minimum of 1m');
    expect(
      refusal(TaskInputError, () =>
        service.schedule(asChat(), { ...every10m, scheduleType: "cron", scheduleValue: "0 8 *" }),
      ),
    ).toMatch(/^cron needs 5 fields/);
  });

  it("limits the prompt to 1..4000 characters", () => {
    expect(refusal(TaskInputError, () => service.schedule(asChat(), { ...every10m, prompt: "  " }))).toBe(
      "prompt is empty: say what the task should do when it runs",
    );
    expect(
      refusal(TaskInputError, () => service.schedule(asChat(), { ...every10m, prompt: "x".repeat(4001) })),
    ).toBe("prompt is 4001 characters, more than the limit of 4000: shorten it");
    expect(service.schedule(asChat(), { ...every10m, prompt: "x".repeat(4000) }).prompt).toHaveLength(4000);
  });

  it("limits active and paused tasks per chat; a cancelled one frees its place", () => {
    const a = service.schedule(asChat(), every10m);
    const b = service.schedule(asChat(), every10m);
    service.pause(asChat(), b.id);
    service.schedule(asChat(), every10m);
    expect(refusal(TaskInputError, () => service.schedule(asChat(), every10m))).toBe(
      "this chat has 3 tasks already (the limit): cancel one first",
    );
    expect(
      refusal(TaskInputError, () => service.schedule(asChat(main), { ...every10m, chatId: family.chatId })),
    ).toBe("chat tg:-100 has 3 tasks already (the limit): cancel one first");
    service.cancel(asChat(), a.id);
    expect(service.schedule(asChat(), every10m).status).toBe("active");
    // Other chats have their own allowance.
    expect(service.schedule(asChat(work), every10m).chatId).toBe(work.chatId);
  });

  it("lets the main chat schedule for another registered chat, never an unknown one", () => {
    const task = service.schedule(asChat(main, "Owner"), { ...every10m, chatId: work.chatId });
    expect(task).toMatchObject({ chatId: work.chatId, createdBy: "chat tg:1 (Owner)" });
    expect(
      refusal(TaskInputError, () => service.schedule(asChat(main), { ...every10m, chatId: "tg:999" })),
    ).toBe("chat tg:999 is not registered (list_chats shows them)");
  });

  it("refuses another chat's chat_id from a chat that is not the main chat, registered or not", () => {
    for (const chatId of [work.chatId, main.chatId, "tg:999"]) {
      expect(refusal(TaskPermissionError, () => service.schedule(asChat(), { ...every10m, chatId }))).toBe(
        "only the main chat may manage another chat's tasks; this chat can only name itself",
      );
    }
    expect(service.schedule(asChat(), { ...every10m, chatId: family.chatId }).chatId).toBe(family.chatId);
    expect(service.schedule(asChat(), { ...every10m, chatId: " " }).chatId).toBe(family.chatId);
    expect(store.tasks.list(work.chatId)).toEqual([]);
  });

  it("lets the CLI schedule for any registered chat, which it must name", () => {
    expect(service.schedule(cli, { ...every10m, chatId: work.chatId }).createdBy).toBe("cli");
    expect(refusal(TaskInputError, () => service.schedule(cli, every10m))).toBe(
      "name the chat the task is for (--chat <jid>)",
    );
    expect(refusal(TaskInputError, () => service.schedule(cli, { ...every10m, chatId: "tg:999" }))).toBe(
      'chat tg:999 is not registered (run "npm run setup -- chats" to see them)',
    );
  });
});

describe("TaskService.list", () => {
  it("shows a chat its own active and paused tasks; the main chat and the CLI every chat's", () => {
    const own = service.schedule(asChat(), every10m);
    const paused = service.schedule(asChat(), every10m);
    service.pause(asChat(), paused.id);
    const cancelled = service.schedule(asChat(), every10m);
    service.cancel(asChat(), cancelled.id);
    const other = service.schedule(asChat(work), every10m);
    const ids = (tasks: { id: number }[]) => tasks.map((t) => t.id);
    expect(ids(service.list(asChat()))).toEqual([own.id, paused.id]);
    expect(ids(service.list(asChat(), family.chatId))).toEqual([own.id, paused.id]);
    expect(ids(service.list(asChat(), undefined, { all: true }))).toEqual([own.id, paused.id, cancelled.id]);
    expect(ids(service.list(asChat(main)))).toEqual([own.id, paused.id, other.id]);
    expect(ids(service.list(asChat(main), work.chatId))).toEqual([other.id]);
    expect(ids(service.list(cli, undefined, { all: true }))).toEqual([
      own.id,
      paused.id,
      cancelled.id,
      other.id,
    ]);
  });

  it("refuses another chat's list to a chat that is not the main chat", () => {
    service.schedule(asChat(work), every10m);
    expect(refusal(TaskPermissionError, () => service.list(asChat(), work.chatId))).toMatch(
      /^only the main chat may manage another chat's tasks/,
    );
    expect(refusal(TaskInputError, () => service.list(asChat(main), "tg:999"))).toMatch(/is not registered/);
  });
});

describe("pause, resume, cancel", () => {
  it("pauses (no next run) and resumes from now, not from the old schedule", () => {
    const task = service.schedule(asChat(), every10m);
    clock += 3 * 60_000;
    const paused = service.pause(asChat(), task.id);
    expect(paused).toMatchObject({ status: "paused", nextRunAt: null });
    expect(store.tasks.nextDueAt()).toBeNull();
    clock += 60 * 60_000;
    expect(service.resume(asChat(), task.id)).toMatchObject({ status: "active", nextRunAt: clock + 600_000 });
    expect(changes).toBe(3);
  });

  it("resumes a cron task at its next time after now", () => {
    const task = service.schedule(asChat(), {
      ...every10m,
      scheduleType: "cron",
      scheduleValue: "0 8 * * *",
    });
    service.pause(asChat(), task.id);
    clock = Date.parse("2026-12-05T10:00:00Z");
    expect(service.resume(asChat(), task.id).nextRunAt).toBe(Date.parse("2026-12-06T07:00:00Z"));
  });

  it("runs a resumed once-task whose time passed once, now", () => {
    const task = service.schedule(asChat(), { ...every10m, scheduleType: "once", scheduleValue: "in 10m" });
    service.pause(asChat(), task.id);
    clock += 20 * 60_000;
    expect(service.resume(asChat(), task.id).nextRunAt).toBe(clock);
  });

  it("gives a task paused after repeated failures a fresh count when resumed", () => {
    const task = service.schedule(asChat(), every10m);
    for (let i = 0; i < 3; i++) store.tasks.recordFailure(task.id, clock, "boom", 3);
    expect(store.tasks.get(task.id)?.status).toBe("paused");
    expect(service.resume(asChat(), task.id)).toMatchObject({ status: "active", consecutiveFailures: 0 });
    expect(store.tasks.recordFailure(task.id, clock, "boom", 3).paused).toBe(false);
  });

  it("cancels a task for good: done, kept, no next run; it cannot be resumed or paused", () => {
    const task = service.schedule(asChat(), every10m);
    expect(service.cancel(asChat(), task.id)).toMatchObject({ status: "done", nextRunAt: null });
    expect(store.tasks.get(task.id)?.status).toBe("done");
    expect(refusal(TaskInputError, () => service.resume(asChat(), task.id))).toBe(
      `task ${task.id} is done (cancelled or finished) and cannot be resumed: schedule a new task instead`,
    );
    expect(refusal(TaskInputError, () => service.pause(asChat(), task.id))).toMatch(/cannot be paused/);
    const before = changes;
    expect(service.cancel(asChat(), task.id).status).toBe("done");
    expect(changes).toBe(before);
  });

  it("hides another chat's task from a chat that is not the main chat, without its content", () => {
    const secret = service.schedule(asChat(work), { ...every10m, prompt: "the secret plan" });
    for (const act of [
      () => service.pause(asChat(), secret.id),
      () => service.resume(asChat(), secret.id),
      () => service.cancel(asChat(), secret.id),
      () => service.update(asChat(), { taskId: secret.id, prompt: "mine now" }),
    ]) {
      const message = refusal(TaskNotFoundError, act);
      expect(message).toBe(`task ${secret.id} does not exist (list_tasks shows this chat's tasks)`);
      expect(message).not.toContain("secret");
    }
    expect(store.tasks.get(secret.id)).toMatchObject({ status: "active", prompt: "the secret plan" });
    expect(refusal(TaskNotFoundError, () => service.pause(asChat(), 999))).toBe(
      "task 999 does not exist (list_tasks shows this chat's tasks)",
    );
  });

  it("lets the main chat and the CLI manage every chat's tasks", () => {
    const task = service.schedule(asChat(work), every10m);
    expect(service.pause(asChat(main), task.id).status).toBe("paused");
    expect(service.resume(cli, task.id).status).toBe("active");
    expect(service.cancel(asChat(main), task.id).status).toBe("done");
  });
});

describe("TaskService.update", () => {
  it("changes the prompt and keeps the schedule", () => {
    const task = service.schedule(asChat(), every10m);
    expect(service.update(asChat(), { taskId: task.id, prompt: "check it twice" })).toMatchObject({
      prompt: "check it twice",
      nextRunAt: task.nextRunAt,
    });
    expect(changes).toBe(2);
  });

  it("recomputes the next run from now when the schedule changes; a value alone keeps the type", () => {
    const task = service.schedule(asChat(), every10m);
    clock += 4 * 60_000;
    expect(service.update(asChat(), { taskId: task.id, scheduleValue: "1h" })).toMatchObject({
      schedule: { type: "interval", value: "3600000" },
      nextRunAt: clock + 3_600_000,
    });
    const cron = service.update(asChat(), {
      taskId: task.id,
      scheduleType: "cron",
      scheduleValue: "30 9 * * *",
    });
    expect(cron).toMatchObject({ schedule: { type: "cron", value: "30 9 * * *" } });
    expect(cron.nextRunAt).toBe(Date.parse("2026-12-01T08:30:00Z"));
  });

  it("leaves a paused task paused, its next run set when resumed", () => {
    const task = service.schedule(asChat(), every10m);
    service.pause(asChat(), task.id);
    expect(service.update(asChat(), { taskId: task.id, scheduleValue: "2h" })).toMatchObject({
      status: "paused",
      nextRunAt: null,
    });
    expect(service.resume(asChat(), task.id).nextRunAt).toBe(clock + 7_200_000);
  });

  it("refuses to change a done task, an empty update and a type without a value", () => {
    const task = service.schedule(asChat(), every10m);
    expect(refusal(TaskInputError, () => service.update(asChat(), { taskId: task.id }))).toBe(
      "nothing to update: give prompt, schedule_value, or schedule_type with schedule_value",
    );
    expect(
      refusal(TaskInputError, () => service.update(asChat(), { taskId: task.id, scheduleType: "cron" })),
    ).toBe("schedule_type needs schedule_value too (the new schedule)");
    expect(
      refusal(TaskInputError, () =>
        service.update(asChat(), { taskId: task.id, scheduleValue: "10 seconds" }),
      ),
    ).toMatch(/^interval "10 seconds" is not a valid duration/);
    service.cancel(asChat(), task.id);
    expect(
      refusal(TaskInputError, () => service.update(asChat(), { taskId: task.id, prompt: "again" })),
    ).toBe(`task ${task.id} is done and cannot be changed: schedule a new task instead`);
    expect(store.tasks.get(task.id)?.prompt).toBe("check the page");
    expect(changes).toBe(2);
  });
});
