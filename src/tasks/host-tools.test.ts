import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { makeChat } from "../../test/doubles/chat.js";
import type { RegisteredChat } from "../registration/chat.js";
import { registerChat } from "../registration/register-chat.js";
import { Store } from "../store/index.js";
import { createTaskTools } from "./host-tools.js";
import { TaskService } from "./service.js";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

const NOW = Date.parse("2026-12-01T08:00:00Z");

function rig() {
  const dir = mkdtempSync(path.join(tmpdir(), "nestbox-task-tools-"));
  const store = Store.open(dir);
  const main = makeChat({ chatId: "tg:1", folder: "owner", isMain: true });
  const family = makeChat({ chatId: "tg:2", folder: "family" });
  store.chats.insert(main);
  store.chats.insert(family);
  const service = new TaskService({
    store,
    timezone: "Europe/Berlin",
    limits: { minIntervalMs: 60_000, maxPerChat: 20, maxFailures: 3 },
    now: () => NOW,
  });
  const tools = createTaskTools({
    service,
    store,
    timezone: "Europe/Berlin",
    now: () => NOW,
    registerChat: (input) =>
      registerChat(dir, {
        assistantName: "Andy",
        chat: makeChat({
          chatId: input.jid,
          channel: input.channel,
          name: input.name,
          folder: input.folder,
          trigger: input.trigger ?? "@Andy",
          requiresTrigger: input.requiresTrigger ?? true,
        }),
      }),
  });
  cleanups.push(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const call = (chat: RegisteredChat, name: string, args: Record<string, unknown>) => {
    const result = tools(chat, { name, args });
    if (!result) throw new Error(`${name} not handled`);
    return result;
  };
  return { store, main, family, call, tools };
}

describe("task and chat host tools", () => {
  it("schedule_task answers with the task id and its next run in words, in the configured zone", async () => {
    const t = rig();
    await expect(
      t.call(t.family, "schedule_task", {
        prompt: "water the plants",
        schedule_type: "interval",
        schedule_value: "10m",
      }),
    ).resolves.toBe(
      "task 1 scheduled for tg:2: every 10m, next run in 10 min, Tue 2026-12-01 09:10 Europe/Berlin",
    );
    await expect(t.call(t.family, "list_tasks", {})).resolves.toBe(
      '#1 active · every 10m · group · next run in 10 min, Tue 2026-12-01 09:10 Europe/Berlin · chat tg:2 · "water the plants"',
    );
  });

  it("bad arguments are refused with the field and the fix; send_message is not handled here", async () => {
    const t = rig();
    await expect(
      t.call(t.family, "schedule_task", { prompt: "x", schedule_type: "daily", schedule_value: "8" }),
    ).rejects.toThrow(/schedule_type must be "cron", "interval" or "once"/);
    await expect(
      t.call(t.family, "schedule_task", { prompt: "x", schedule_type: "cron", schedule_value: "0 8 *" }),
    ).rejects.toThrow(/cron needs 5 fields/);
    await expect(t.call(t.family, "pause_task", { task_id: "seven" })).rejects.toThrow(/task_id/);
    expect(t.tools(t.family, { name: "send_message", args: { text: "hi" } })).toBeNull();
  });

  it("a chat cannot see or touch another chat's tasks; the main chat can", async () => {
    const t = rig();
    await t.call(t.main, "schedule_task", {
      prompt: "secret plan",
      schedule_type: "once",
      schedule_value: "in 1h",
      chat_id: "tg:2",
    });
    const own = await t.call(t.main, "schedule_task", {
      prompt: "mine",
      schedule_type: "once",
      schedule_value: "in 1h",
    });
    expect(own).toMatch(
      /^task 2 scheduled for tg:1: once, next run in 1 h, Tue 2026-12-01 10:00 Europe\/Berlin$/,
    );
    await expect(t.call(t.family, "list_tasks", {})).resolves.toContain('"secret plan"');
    await expect(t.call(t.family, "pause_task", { task_id: 2 })).rejects.toThrow(/task 2 does not exist/);
    await expect(t.call(t.family, "list_tasks", { chat_id: "tg:1" })).rejects.toThrow(/main chat/);
    await expect(t.call(t.main, "cancel_task", { task_id: 1 })).resolves.toBe("cancelled task 1");
  });

  it("register_chat and list_chats work from the main chat only, through the one chat schema", async () => {
    const t = rig();
    const args = {
      channel: "telegram",
      jid: "tg:3",
      name: "Book club",
      folder: "books",
      requires_trigger: false,
    };
    await expect(t.call(t.family, "register_chat", args)).rejects.toThrow(
      "only the main chat may register chats",
    );
    await expect(t.call(t.family, "list_chats", {})).rejects.toThrow("only the main chat may list chats");
    await expect(t.call(t.main, "register_chat", { ...args, jid: "tg:abc" })).rejects.toThrow(
      /"tg:abc" is not a telegram chat id/,
    );
    await expect(t.call(t.main, "register_chat", args)).resolves.toBe(
      'registered tg:3 "Book club" in folder books (answers every message)',
    );
    expect(t.store.chats.get("tg:3")).toMatchObject({
      name: "Book club",
      requiresTrigger: false,
      isMain: false,
    });
    await expect(t.call(t.main, "register_chat", args)).rejects.toThrow(/already registered/);
    const chats = await t.call(t.main, "list_chats", {});
    expect(chats.split("\n")).toHaveLength(3);
    expect(chats).toContain('tg:3 · "Book club" · folder books · every message');
  });
});
