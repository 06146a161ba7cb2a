// Scheduled runs as the pipeline runs them: through the chat's queue, in the chat's session or a
// fresh one, their replies delivered, failures told once and a failing task paused.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { TurnRequest } from "../src/agents/agent-runtime.js";
import { ChannelRegistry } from "../src/channels/registry.js";
import { AgentError } from "../src/errors.js";
import { silentLogger } from "../src/log.js";
import { Pipeline } from "../src/pipeline/pipeline.js";
import { NO_REPLY } from "../src/pipeline/task-turn.js";
import { AgentErrorCode } from "../src/protocol/error-codes.js";
import { Store } from "../src/store/index.js";
import { TaskService } from "../src/tasks/service.js";
import { makeChat } from "./doubles/chat.js";
import { InProcessRuntime } from "./doubles/in-process-runtime.js";
import { MemoryChannel } from "./doubles/memory-channel.js";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

const CHAT = "mem:a";

function setup(agent: (req: TurnRequest) => Promise<string | string[]>) {
  const dir = mkdtempSync(path.join(tmpdir(), "nestbox-task-runs-"));
  const store = Store.open(dir);
  store.chats.insert(makeChat({ chatId: CHAT, name: "a", folder: "a", requiresTrigger: false }));
  const channel = new MemoryChannel();
  const runtime = new InProcessRuntime(agent);
  const pipeline = new Pipeline({
    store,
    registry: new ChannelRegistry([channel], silentLogger()),
    runtime,
    log: silentLogger(),
    maxConcurrentAgents: 2,
    limits: { maxMessages: 50, maxChars: 20_000, timezone: "UTC" },
    delivery: { retryDelayMs: 10, maxRetryDelayMs: 20 },
    tasks: { maxFailures: 3 },
  });
  const service = new TaskService({
    store,
    timezone: "UTC",
    limits: { minIntervalMs: 60_000, maxPerChat: 20, maxFailures: 3 },
  });
  cleanups.push(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const actor = {
    kind: "chat" as const,
    chat: store.chats.get(CHAT) as NonNullable<ReturnType<typeof store.chats.get>>,
  };
  /** Schedules a task and makes it due now, as the scheduler would. */
  const due = (input: {
    prompt: string;
    scheduleType: string;
    scheduleValue: string;
    contextMode?: string;
  }) => {
    const task = service.schedule(actor, input);
    const run = store.taskRuns.fire(
      task.id,
      Date.now(),
      input.scheduleType === "once" ? null : Date.now() + 3_600_000,
      Date.now(),
    );
    pipeline.queue.enqueue(CHAT);
    return { task, run };
  };
  const texts = () => channel.sent.filter((s) => s.chatId === CHAT).map((s) => s.text);
  return { store, channel, runtime, pipeline, service, due, texts };
}

describe("scheduled runs through the pipeline", () => {
  it("a group run uses the chat's session and prompt; its reply is delivered and a once-task is done", async () => {
    const t = setup(async (req) => {
      const task = /<scheduled_task[^>]*>(.*)<\/scheduled_task>/.exec(req.prompt);
      return task ? `did: ${task[1]}` : "ok";
    });
    await t.pipeline.start();
    await t.channel.receive(CHAT, "hello");
    await t.pipeline.drain();
    const { task } = t.due({ prompt: "water the <plants>", scheduleType: "once", scheduleValue: "in 10m" });
    await t.pipeline.drain();
    expect(t.texts()).toEqual(["ok", "did: water the &lt;plants&gt;"]);
    const request = t.runtime.requests.at(-1) as TurnRequest;
    expect(request.prompt).toContain("A scheduled task is due. Nobody in the chat just wrote");
    expect(request.prompt).toContain(`<scheduled_task id="${task.id}"`);
    expect(request.sessionId).toBe("session-a");
    expect(t.store.tasks.get(task.id)).toMatchObject({ status: "done", consecutiveFailures: 0 });
    expect(t.store.taskRuns.forTask(task.id)).toMatchObject([{ status: "done", replies: 1 }]);
  });

  it("an isolated run starts a fresh session and leaves the chat's session as it was", async () => {
    const t = setup(async () => "done");
    await t.pipeline.start();
    await t.channel.receive(CHAT, "hello");
    await t.pipeline.drain();
    t.store.sessions.set(CHAT, "chat-session", Date.now());
    t.due({ prompt: "alone", scheduleType: "interval", scheduleValue: "1h", contextMode: "isolated" });
    await t.pipeline.drain();
    expect(t.runtime.requests.at(-1)?.sessionId).toBeNull();
    expect(t.store.sessions.get(CHAT)).toBe("chat-session");
  });

  it("a run that answers <no-reply/> sends nothing and still counts as done", async () => {
    const t = setup(async () => NO_REPLY);
    await t.pipeline.start();
    const { task } = t.due({ prompt: "check the page", scheduleType: "interval", scheduleValue: "1h" });
    await t.pipeline.drain();
    expect(t.texts()).toEqual([]);
    expect(t.store.taskRuns.forTask(task.id)).toMatchObject([{ status: "done", replies: 0 }]);
  });

  it("each failed run is told once; the third failure in a row pauses the task and says so", async () => {
    const t = setup(async () => {
      throw new AgentError("TURN_TIMEOUT", "the turn took longer than 600 s");
    });
    await t.pipeline.start();
    const task = t.service.schedule(
      { kind: "cli" },
      { chatId: CHAT, prompt: "flaky", scheduleType: "interval", scheduleValue: "1h" },
    );
    for (let i = 0; i < 3; i++) {
      t.store.taskRuns.fire(task.id, Date.now(), Date.now() + 3_600_000, Date.now());
      t.pipeline.queue.enqueue(CHAT);
      await t.pipeline.drain();
    }
    const texts = t.texts();
    expect(texts).toHaveLength(3);
    expect(texts[0]).toBe(
      `Scheduled task ${task.id} ("flaky") failed: Sorry, that took too long, so I stopped working on it.`,
    );
    expect(texts[1]).not.toContain("paused");
    expect(texts[2]).toContain("It failed 3 times in a row, so I paused it");
    expect(t.store.tasks.get(task.id)).toMatchObject({
      status: "paused",
      nextRunAt: null,
      consecutiveFailures: 3,
    });
  });
  it("a model outage does not count as a failure: the run waits for the model, the chat hears once", async () => {
    const model = { up: false };
    const t = setup(async () => {
      if (!model.up) throw new AgentError(AgentErrorCode.ModelUnavailable, "503 model endpoint kept failing");
      return "back";
    });
    await t.pipeline.start();
    const { task } = t.due({ prompt: "daily digest", scheduleType: "interval", scheduleValue: "1h" });
    await t.pipeline.drain();
    t.pipeline.queue.enqueue(CHAT);
    await t.pipeline.drain();
    expect(t.texts()).toHaveLength(1);
    expect(t.texts()[0]).toContain("is waiting: the AI model isn't answering right now");
    expect(t.store.tasks.get(task.id)).toMatchObject({ status: "active", consecutiveFailures: 0 });
    model.up = true;
    t.pipeline.queue.enqueue(CHAT);
    await t.pipeline.drain();
    expect(t.texts().at(-1)).toBe("back");
    expect(t.store.taskRuns.queuedFor(CHAT)).toEqual([]);
  });

  it("a run left running by a crash, with no reply yet, runs again at start; one that replied does not", async () => {
    const t = setup(async () => "ran");
    const a = t.service.schedule(
      { kind: "cli" },
      { chatId: CHAT, prompt: "unanswered", scheduleType: "interval", scheduleValue: "1h" },
    );
    const b = t.service.schedule(
      { kind: "cli" },
      { chatId: CHAT, prompt: "answered", scheduleType: "interval", scheduleValue: "1h" },
    );
    const runA = t.store.taskRuns.fire(a.id, Date.now(), Date.now() + 3_600_000, Date.now());
    const runB = t.store.taskRuns.fire(b.id, Date.now(), Date.now() + 3_600_000, Date.now());
    if (!runA || !runB) throw new Error("runs not queued");
    t.store.taskRuns.start(runA.id, Date.now());
    t.store.taskRuns.start(runB.id, Date.now());
    t.store.taskRuns.addReply(runB.id, 3);
    await t.pipeline.start();
    await t.pipeline.drain();
    expect(t.texts()).toEqual(["ran"]);
    expect(t.store.taskRuns.forTask(a.id).map((r) => r.status)).toEqual(["done"]);
    expect(t.store.taskRuns.forTask(b.id).map((r) => r.status)).toEqual(["done"]);
  });

  it("a run whose chat was unregistered meanwhile is dropped and its task paused, not run for nobody", async () => {
    const t = setup(async () => "ran");
    await t.pipeline.start();
    const task = t.service.schedule(
      { kind: "cli" },
      { chatId: CHAT, prompt: "orphan", scheduleType: "interval", scheduleValue: "1h" },
    );
    t.store.taskRuns.fire(task.id, Date.now(), Date.now() + 3_600_000, Date.now());
    t.store.chats.remove(CHAT);
    t.pipeline.queue.enqueue(CHAT);
    await t.pipeline.drain();
    expect(t.runtime.requests).toHaveLength(0);
    expect(t.store.tasks.get(task.id)).toMatchObject({ status: "paused", nextRunAt: null });
    expect(t.store.taskRuns.forTask(task.id)).toMatchObject([
      { status: "failed", errorCode: "TASK_SKIPPED" },
    ]);
  });
});
