import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect, it } from "vitest";
import { makeChat } from "../../test/doubles/chat.js";
import { loadConfig } from "../config.js";
import type { ContainerInfo, ContainerRuntime } from "../containers/container-runtime.js";
import { Store } from "../store/index.js";
import { printStatus, status } from "./status.js";

it("reports chats with their last turn and running agent, and undelivered replies", async () => {
  const cwd = mkdtempSync(path.join(tmpdir(), "nestbox-status-"));
  const config = loadConfig({}, cwd);
  const store = Store.open(config.dataDir);
  store.meta.set("install_id", "abcd1234");
  store.chats.insert(makeChat({ chatId: "tg:-1" }));
  const turn = store.turns.start("tg:-1", 1, 1, Date.UTC(2026, 10, 25, 9));
  store.turns.finish(turn, "done", Date.UTC(2026, 10, 25, 9, 1));
  store.outbox.add("tg:-1", turn, "waiting", 0);
  const failed = store.turns.start("tg:-1", 2, 2, Date.UTC(2026, 10, 25, 10));
  store.turns.finish(failed, "failed", Date.UTC(2026, 10, 25, 10, 1), { error: "model down" });
  const message = (id: string, text: string) => ({
    chatId: "tg:-1",
    messageId: id,
    senderId: "u",
    senderName: "U",
    text,
    timestamp: 0,
    fromMe: false,
    mentionsAssistant: false,
  });
  store.messages.insert("telegram", message("m1", "context only"), false, 0);
  store.messages.insert("telegram", message("m2", "@Andy still waiting"), true, 0);
  store.meta.setDiskLow("the disk holding data has 12 MB free");
  const schedule = { type: "interval" as const, value: "600000" };
  const due = Date.UTC(2026, 10, 25, 12);
  const base = { chatId: "tg:-1", schedule, contextMode: "group" as const, createdBy: "cli", now: 0 };
  const later = store.tasks.add({ ...base, prompt: "later", nextRunAt: due + 60_000 });
  const soon = store.tasks.add({ ...base, prompt: "check the page", nextRunAt: due });
  const paused = store.tasks.add({ ...base, prompt: "paused", nextRunAt: due });
  store.tasks.update(paused.id, { status: "paused", nextRunAt: null }, 0);
  const run = store.taskRuns.fire(soon.id, due, due + 600_000, due);
  store.taskRuns.start(run?.id ?? 0, due);
  store.taskRuns.finish(run?.id ?? 0, "failed", due + 5_000, { error: "the turn took longer than 600 s" });
  store.close();
  mkdirSync(path.join(config.dataDir, "groups", "family"), { recursive: true });
  writeFileSync(path.join(config.dataDir, "groups", "family", "notes.bin"), Buffer.alloc(3 * 1024 * 1024, 1));
  // A runtime double behind the interface: the engine is not what this test is about.
  const engine = {
    version: async () => "28.0",
    list: async (labels: Record<string, string | undefined>) =>
      labels["nestbox.install"] === "abcd1234"
        ? [
            {
              name: "nestbox-abcd1234-family-aaaaaa",
              running: true,
              labels: { "nestbox.chat": "tg:-1" },
            } as unknown as ContainerInfo,
          ]
        : [],
  } as unknown as ContainerRuntime;
  const report = await status(config, engine);
  expect(report).toEqual({
    installId: "abcd1234",
    docker: "engine 28.0",
    outbox: {
      pending: 1,
      sending: 0,
      failed: 0,
      failedMaybeSent: 0,
      maybeSent: 0,
      resends: 0,
      byChat: [
        { chatId: "tg:-1", pending: 1, sending: 0, failed: 0, failedMaybeSent: 0, maybeSent: 0, resends: 0 },
      ],
    },
    chats: [
      {
        chatId: "tg:-1",
        name: "Family",
        folder: "family",
        lastTurn: "failed at 2026-11-25T10:00:00.000Z",
        failedTurns: 1,
        unanswered: 1,
        container: "nestbox-abcd1234-family-aaaaaa",
        disk: { usedBytes: expect.any(Number), limitBytes: 2048 * 1024 * 1024 },
      },
    ],
    diskLow: "the disk holding data has 12 MB free",
    tasks: {
      active: 2,
      paused: 1,
      next: [
        { taskId: later.id, chatId: "tg:-1", at: due + 60_000, schedule: "every 10m", prompt: "later" },
        {
          taskId: soon.id,
          chatId: "tg:-1",
          at: due + 600_000,
          schedule: "every 10m",
          prompt: "check the page",
        },
      ],
      failures: [
        { taskId: soon.id, chatId: "tg:-1", at: due + 5_000, error: "the turn took longer than 600 s" },
      ],
    },
  });
  expect(report.chats[0]?.disk.usedBytes).toBeGreaterThanOrEqual(3 * 1024 * 1024);
  let out = "";
  printStatus(
    { stdout: { write: (t: string) => (out += t) }, stderr: { write: () => true }, env: {}, cwd },
    report,
    false,
  );
  expect(out).toContain(
    'tg:-1 "Family" (family): last turn failed at 2026-11-25T10:00:00.000Z; agent nestbox-abcd1234-family-aaaaaa; disk 3 of 2048 MB; 1 failed turn(s), 1 unanswered message(s)',
  );
  expect(out).toContain("Disk:     LOW: the disk holding data has 12 MB free");
  expect(out).toContain("Outbox:   1 pending, 0 failed");
  expect(out).toContain("Tasks:    2 active, 1 paused");
  expect(out).toContain('  next: task 1 in tg:-1 at 2026-11-25T12:01:00.000Z (every 10m): "later"');
  expect(out).toContain(
    "  failed: task 2 in tg:-1 at 2026-11-25T12:00:05.000Z: the turn took longer than 600 s",
  );
  rmSync(cwd, { recursive: true, force: true });
});

it("counts resends, maybe-sent rows and failed rows per chat, for people and as JSON", async () => {
  const cwd = mkdtempSync(path.join(tmpdir(), "nestbox-status-"));
  const config = loadConfig({}, cwd);
  const store = Store.open(config.dataDir);
  // tg:-1: one reply resent after a lost answer and delivered, one given up after two lost answers.
  const resent = store.outbox.add("tg:-1", null, "a", 0);
  store.outbox.markSending(resent, 1);
  store.outbox.markMaybeSent(resent, "reset");
  store.outbox.markSending(resent, 2);
  store.outbox.markDelivered(resent, 3);
  const twice = store.outbox.add("tg:-1", null, "b", 0);
  store.outbox.markSending(twice, 1);
  store.outbox.markMaybeSent(twice, "reset");
  store.outbox.markSending(twice, 2);
  store.outbox.markMaybeSent(twice, "reset");
  // tg:-2: one refused for good, one waiting; tg:-3 all delivered (not listed).
  store.outbox.markAttemptFailed(store.outbox.add("tg:-2", null, "c", 0), "blocked", true);
  store.outbox.add("tg:-2", null, "d", 0);
  store.outbox.markDelivered(store.outbox.add("tg:-3", null, "e", 0), 1);
  store.close();
  const engine = { version: async () => "28.0", list: async () => [] } as unknown as ContainerRuntime;
  const report = await status(config, engine);
  expect(report.outbox).toEqual({
    pending: 1,
    sending: 0,
    failed: 1,
    failedMaybeSent: 1,
    maybeSent: 2,
    resends: 2,
    byChat: [
      { chatId: "tg:-1", pending: 0, sending: 0, failed: 0, failedMaybeSent: 1, maybeSent: 2, resends: 2 },
      { chatId: "tg:-2", pending: 1, sending: 0, failed: 1, failedMaybeSent: 0, maybeSent: 0, resends: 0 },
    ],
  });
  let out = "";
  const io = { stdout: { write: (t: string) => (out += t) }, stderr: { write: () => true }, env: {}, cwd };
  printStatus(io, report, false);
  expect(out).toContain("Outbox:   1 pending, 1 failed, 1 failed maybe-sent; 2 maybe sent, 2 resent");
  expect(out).toContain("  tg:-1: 0 pending, 0 failed, 1 failed maybe-sent; 2 maybe sent, 2 resent");
  expect(out).toContain("  tg:-2: 1 pending, 1 failed, 0 failed maybe-sent; 0 maybe sent, 0 resent");
  expect(out).not.toContain("tg:-3:");
  out = "";
  printStatus(io, report, true);
  expect(JSON.parse(out).outbox).toEqual(report.outbox);
  rmSync(cwd, { recursive: true, force: true });
});
