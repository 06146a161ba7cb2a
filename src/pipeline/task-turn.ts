import { AgentError, describeError } from "../errors.js";
import type { Store } from "../store/index.js";
import { describeSchedule } from "../tasks/schedule.js";
import type { Task, TaskRun } from "../tasks/task.js";
import { failureCode, failureReply, isModelOutage } from "./failure.js";
import type { TurnDeps } from "./turn.js";

/** What a task run needs beyond a turn's deps. */
export interface TaskTurnDeps extends TurnDeps {
  timezone: string;
  /** Failures in a row after which a task is paused. */
  maxFailures: number;
}

/** The final answer that means "nothing worth telling": a check that found no change stays silent. */
export const NO_REPLY = "<no-reply/>";

const escapeXml = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** The prompt of a scheduled run: what is due, and that nobody in the chat just wrote. */
export function taskPrompt(task: Task, timezone: string): string {
  const schedule = escapeXml(describeSchedule(task.schedule, timezone));
  return (
    "A scheduled task is due. Nobody in the chat just wrote; do the task and answer with its result.\n" +
    `<scheduled_task id="${task.id}" schedule="${schedule}" context="${task.contextMode}">` +
    `${escapeXml(task.prompt)}</scheduled_task>`
  );
}

const quoted = (prompt: string) => `"${prompt.length > 60 ? `${prompt.slice(0, 57)}...` : prompt}"`;

/**
 * Runs one queued task run as an agent turn in the chat's container: `group` tasks in the chat's
 * session (they see its history), `isolated` ones in a fresh session that is not kept. Replies go
 * to the outbox with the run's reply count in one transaction; a failure is reported to the chat
 * once, and the task is paused after `maxFailures` in a row.
 */
export async function runTaskTurn(run: TaskRun, deps: TaskTurnDeps): Promise<void> {
  const { store, log, now } = deps;
  const task = store.tasks.get(run.taskId);
  const chat = store.chats.get(run.chatId);
  if (!task || !chat || task.status !== "active") {
    const why = !chat ? "the chat is no longer registered" : `the task is ${task?.status ?? "gone"}`;
    store.transaction(() => {
      store.taskRuns.finish(run.id, "failed", now(), { error: `not run: ${why}`, errorCode: "TASK_SKIPPED" });
      // An unregistered chat's task would come due forever with nobody to run it for.
      if (!chat && task?.status === "active")
        store.tasks.update(task.id, { status: "paused", nextRunAt: null }, now());
    });
    log.info({ taskId: run.taskId, runId: run.id, chatId: run.chatId, why }, "scheduled run dropped");
    return;
  }
  store.taskRuns.start(run.id, now());
  log.info(
    { chatId: chat.chatId, taskId: task.id, runId: run.id, context: task.contextMode },
    "task run started",
  );
  void deps.setTyping(chat.chatId, true);
  let last = "";
  try {
    const refusal = deps.disk?.refusal(chat);
    if (refusal) throw new AgentError(refusal.code, refusal.message);
    const group = task.contextMode === "group";
    const events = deps.runtime.runTurn({
      chat,
      prompt: taskPrompt(task, deps.timezone),
      sessionId: group ? store.sessions.get(chat.chatId) : null,
      signal: deps.shutdownSignal,
      onToolCall: deps.hostTools(chat),
    });
    for await (const event of events) {
      if (event.type === "reply") {
        const text = event.text.trim();
        if (text === "" || text === NO_REPLY) continue;
        store.transaction(() => {
          store.outbox.add(chat.chatId, null, event.text, now());
          store.taskRuns.addReply(run.id, event.text.length);
        });
        last = event.text;
        deps.onReply(chat.chatId);
      } else if (group && event.sessionId) {
        store.sessions.set(chat.chatId, event.sessionId, now());
      }
    }
    store.transaction(() => {
      store.taskRuns.finish(run.id, "done", now());
      store.tasks.recordSuccess(task.id, now(), last.slice(0, 200));
    });
    log.info({ chatId: chat.chatId, taskId: task.id, runId: run.id }, "task run finished");
    deps.onModelAnswered?.();
  } catch (err) {
    if (deps.shutdownSignal.aborted) {
      log.warn(
        { taskId: task.id, runId: run.id },
        "task run interrupted by shutdown; it runs again at next start",
      );
      return;
    }
    failed(task, run, err, deps);
  } finally {
    void deps.setTyping(chat.chatId, false);
  }
}

/**
 * Records a failed run and tells the chat once. A model outage does not count towards pausing: the
 * run is queued again for when the model is back (the outage retry re-runs the chat), and the chat
 * hears about it once per outage.
 */
function failed(task: Task, run: TaskRun, err: unknown, deps: TaskTurnDeps): void {
  const { store, log, now } = deps;
  const error = describeError(err);
  const errorCode = failureCode(err) ?? undefined;
  log.error({ err, chatId: task.chatId, taskId: task.id, runId: run.id }, "task run failed");
  if (isModelOutage(err)) {
    const previous = store.taskRuns.forTask(task.id, 2).find((r) => r.id !== run.id);
    const told = previous?.status === "failed" && previous.errorCode === errorCode;
    store.transaction(() => {
      store.taskRuns.finish(run.id, "failed", now(), { error, ...(errorCode ? { errorCode } : {}) });
      store.taskRuns.fire(task.id, run.scheduledFor, store.tasks.get(task.id)?.nextRunAt ?? null, now());
      if (!told) {
        store.outbox.add(
          task.chatId,
          null,
          `Scheduled task ${task.id} (${quoted(task.prompt)}) is waiting: the AI model isn't answering right now. It runs as soon as the model is back.`,
          now(),
        );
      }
    });
    if (!told) deps.onReply(task.chatId);
    deps.onModelOutage?.(task.chatId);
    return;
  }
  const text = store.transaction(() => {
    store.taskRuns.finish(run.id, "failed", now(), { error, ...(errorCode ? { errorCode } : {}) });
    const { paused } = store.tasks.recordFailure(task.id, now(), error, deps.maxFailures);
    const reply = `Scheduled task ${task.id} (${quoted(task.prompt)}) failed: ${failureReply(err)}`;
    const text = paused
      ? `${reply} It failed ${deps.maxFailures} times in a row, so I paused it; ask me to resume task ${task.id} when it should run again.`
      : reply;
    store.outbox.add(task.chatId, null, text, now());
    return text;
  });
  log.info({ chatId: task.chatId, taskId: task.id, text }, "task failure reported to the chat");
  deps.onReply(task.chatId);
}

/** Runs every task run queued for the chat, oldest first; each is its own turn. */
export async function runQueuedTasks(chatId: string, store: Store, deps: TaskTurnDeps): Promise<void> {
  for (const run of store.taskRuns.queuedFor(chatId)) {
    if (deps.shutdownSignal.aborted) return;
    await runTaskTurn(run, deps);
  }
}
