import { existsSync } from "node:fs";
import path from "node:path";
import { DiskGuard } from "../agents/disk-guard.js";
import type { Config } from "../config.js";
import { LABELS } from "../containers/agent-spec.js";
import type { ContainerRuntime } from "../containers/container-runtime.js";
import { silentLogger } from "../log.js";
import { Store } from "../store/index.js";
import { describeSchedule } from "../tasks/schedule.js";
import { within } from "./host-status.js";
import type { CommandIO } from "./io.js";
import { describeCounts, type OutboxStatus, outboxStatus } from "./outbox-status.js";

const mb = (bytes: number) => Math.round(bytes / (1024 * 1024));

/** What `nestbox status` reports. */
export interface StatusReport {
  installId: string | null;
  chats: {
    chatId: string;
    name: string;
    folder: string;
    lastTurn: string | null;
    container: string | null;
    /** The chat's writable folders: bytes used and the limit. */
    disk: { usedBytes: number; limitBytes: number };
    /** Turns of this chat that ended in failure. */
    failedTurns: number;
    /** Messages that trigger the assistant and are past the chat's cursor: no turn has answered them yet. */
    unanswered: number;
  }[];
  /** Set while new turns are refused because the store's disk is low. */
  diskLow: string | null;
  /** Undelivered, failed, maybe-sent and resent replies, overall and per chat. */
  outbox: OutboxStatus;
  /** Scheduled tasks: how many, the next runs (soonest first) and the latest failed runs. */
  tasks: {
    active: number;
    paused: number;
    next: { taskId: number; chatId: string; at: number; schedule: string; prompt: string }[];
    failures: { taskId: number; chatId: string; at: number; error: string }[];
  };
  docker: string;
}

const NO_TASKS: StatusReport["tasks"] = { active: 0, paused: 0, next: [], failures: [] };

/** Reads the store and the engine: chats, their last turn and running container, undelivered replies. */
export async function status(config: Config, docker: ContainerRuntime): Promise<StatusReport> {
  const report: StatusReport = {
    installId: null,
    chats: [],
    outbox: outboxStatus([]),
    tasks: NO_TASKS,
    docker: "",
    diskLow: null,
  };
  const disk = new DiskGuard({
    dataDir: config.dataDir,
    chatLimitMb: config.disk.chatLimitMb,
    reserveMb: config.disk.reserveMb,
    log: silentLogger(),
  });
  let running = new Map<string, string>();
  if (existsSync(path.join(config.dataDir, "nestbox.db"))) {
    const store = Store.open(config.dataDir);
    try {
      report.installId = store.meta.get("install_id");
      report.diskLow = store.meta.diskLow();
      report.outbox = outboxStatus(store.outbox.list());
      report.tasks = taskStatus(store, config.timezone);
      try {
        report.docker = `engine ${await within(docker.version(), 3000, "the Docker engine")}`;
        if (report.installId) {
          const list = await within(
            docker.list({ [LABELS.install]: report.installId }),
            3000,
            "the Docker engine",
          );
          running = new Map(list.filter((c) => c.running).map((c) => [c.labels[LABELS.chat] ?? "", c.name]));
        }
      } catch (err) {
        report.docker = (err as Error).message;
      }
      report.chats = store.chats.list().map((c) => {
        const turns = store.turns.list(c.chatId);
        const last = turns.at(-1);
        const pending = store.messages.since(c.chatId, store.turns.cursor(c.chatId));
        return {
          chatId: c.chatId,
          name: c.name,
          folder: c.folder,
          lastTurn: last ? `${last.status} at ${new Date(last.startedAt).toISOString()}` : null,
          container: running.get(c.chatId) ?? null,
          disk: { usedBytes: disk.usageOf(c), limitBytes: disk.limitOf(c) },
          failedTurns: turns.filter((t) => t.status === "failed").length,
          unanswered: pending.filter((m) => m.triggers).length,
        };
      });
    } finally {
      store.close();
    }
  }
  return report;
}

function taskStatus(store: Store, timezone: string): StatusReport["tasks"] {
  const all = store.tasks.list();
  const next = all
    .filter((t) => t.status === "active" && t.nextRunAt !== null)
    .sort((a, b) => (a.nextRunAt as number) - (b.nextRunAt as number))
    .slice(0, 5)
    .map((t) => ({
      taskId: t.id,
      chatId: t.chatId,
      at: t.nextRunAt as number,
      schedule: describeSchedule(t.schedule, timezone),
      prompt: t.prompt.slice(0, 60),
    }));
  // Runs dropped because their task was paused or its chat removed meanwhile are not failures.
  const failed = store.taskRuns.recentFailures(20).filter((r) => r.errorCode !== "TASK_SKIPPED");
  const failures = failed.slice(0, 5).map((r) => ({
    taskId: r.taskId,
    chatId: r.chatId,
    at: r.endedAt ?? r.queuedAt,
    error: (r.error ?? "").slice(0, 160),
  }));
  return {
    active: all.filter((t) => t.status === "active").length,
    paused: all.filter((t) => t.status === "paused").length,
    next,
    failures,
  };
}

/** Prints a status report for people, or as JSON. */
export function printStatus(io: CommandIO, r: StatusReport, json: boolean): void {
  if (json) {
    io.stdout.write(`${JSON.stringify(r)}\n`);
    return;
  }
  const lines = [
    `Install:  ${r.installId ?? "(not started yet)"}`,
    `Docker:   ${r.docker || "(not checked)"}`,
    `Outbox:   ${describeCounts(r.outbox)}`,
    ...r.outbox.byChat.map((c) => `  ${c.chatId}: ${describeCounts(c)}`),
    ...(r.diskLow ? [`Disk:     LOW: ${r.diskLow}`] : []),
    `Tasks:    ${r.tasks.active} active, ${r.tasks.paused} paused`,
    ...r.tasks.next.map(
      (t) =>
        `  next: task ${t.taskId} in ${t.chatId} at ${new Date(t.at).toISOString()} (${t.schedule}): ${JSON.stringify(t.prompt)}`,
    ),
    ...r.tasks.failures.map(
      (f) => `  failed: task ${f.taskId} in ${f.chatId} at ${new Date(f.at).toISOString()}: ${f.error}`,
    ),
    `Chats:    ${r.chats.length}`,
    ...r.chats.map(
      (c) =>
        `  ${c.chatId} "${c.name}" (${c.folder}): last turn ${c.lastTurn ?? "none"}; agent ${c.container ?? "not running"}; disk ${mb(c.disk.usedBytes)} of ${mb(c.disk.limitBytes)} MB; ${c.failedTurns} failed turn(s), ${c.unanswered} unanswered message(s)`,
    ),
  ];
  io.stdout.write(`${lines.join("\n")}\n`);
}
