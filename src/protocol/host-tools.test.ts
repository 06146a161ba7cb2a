import { describe, expect, it } from "vitest";
import { SendMessageArgsSchema as FromFrames } from "./frames.js";
import { HOST_TOOL_NAMES, isHostToolName, parseHostToolArgs, SendMessageArgsSchema } from "./host-tools.js";

const error = (name: string, args: unknown) => {
  const r = parseHostToolArgs(name, args);
  return r.ok ? "accepted" : r.error;
};

describe("host tool names", () => {
  it("are the exact names of the contract", () => {
    expect([...HOST_TOOL_NAMES]).toEqual([
      "send_message",
      "schedule_task",
      "list_tasks",
      "pause_task",
      "resume_task",
      "cancel_task",
      "update_task",
      "register_chat",
      "list_chats",
    ]);
    expect(isHostToolName("schedule_task")).toBe(true);
    expect(isHostToolName("exec")).toBe(false);
  });
});

describe("parseHostToolArgs: the args of each host tool", () => {
  it("accepts good args and normalises task ids given as strings", () => {
    expect(
      parseHostToolArgs("schedule_task", {
        prompt: "weather and calendar",
        schedule_type: "cron",
        schedule_value: "0 8 * * 1-5",
      }),
    ).toEqual({
      ok: true,
      args: { prompt: "weather and calendar", schedule_type: "cron", schedule_value: "0 8 * * 1-5" },
    });
    expect(parseHostToolArgs("pause_task", { task_id: "12" })).toEqual({ ok: true, args: { task_id: 12 } });
    expect(parseHostToolArgs("cancel_task", { task_id: 12 })).toEqual({ ok: true, args: { task_id: 12 } });
    expect(parseHostToolArgs("update_task", { task_id: 2, prompt: "new" }).ok).toBe(true);
    expect(parseHostToolArgs("list_tasks", {}).ok).toBe(true);
    expect(parseHostToolArgs("list_chats", {}).ok).toBe(true);
    expect(
      parseHostToolArgs("register_chat", { channel: "whatsapp", jid: "1@g.us", name: "G", folder: "g" }).ok,
    ).toBe(true);
    expect(parseHostToolArgs("send_message", { text: "hi" }).ok).toBe(true);
  });

  it("names the field and what to use when a value is wrong", () => {
    expect(error("schedule_task", { prompt: "p", schedule_type: "daily", schedule_value: "8" })).toBe(
      'schedule_task: schedule_type must be "cron", "interval" or "once" (got "daily")',
    );
    expect(
      error("schedule_task", {
        prompt: "p",
        schedule_type: "once",
        schedule_value: "in 1m",
        context_mode: "x",
      }),
    ).toBe(
      'schedule_task: context_mode must be "group" (sees this chat\'s conversation) or "isolated" (a fresh session each run) (got "x")',
    );
    for (const id of [0, -1, 1.5, "abc", "", "1e3", true]) {
      expect(error("resume_task", { task_id: id })).toMatch(
        /^resume_task: task_id must be a positive whole number: the task's # from list_tasks \(got /,
      );
    }
    expect(error("register_chat", { channel: "terminal", jid: "j", name: "n", folder: "f" })).toBe(
      'register_chat: channel must be "telegram" or "whatsapp" (got "terminal")',
    );
    expect(
      error("register_chat", {
        channel: "telegram",
        jid: "j",
        name: "n",
        folder: "f",
        requires_trigger: "no",
      }),
    ).toMatch(/^register_chat: requires_trigger must be true .* or false .* \(got "no"\)$/);
    expect(error("schedule_task", { prompt: "   ", schedule_type: "once", schedule_value: "in 1m" })).toMatch(
      /^schedule_task: prompt must be the instruction .* \(not empty\) \(got " {3}"\)$/,
    );
  });

  it("says which fields are required, and refuses fields a tool does not take", () => {
    expect(error("schedule_task", { prompt: "p", schedule_type: "cron" })).toMatch(
      /^schedule_task: schedule_value is required: it must be the schedule: 5 cron fields/,
    );
    expect(error("pause_task", {})).toMatch(/^pause_task: task_id is required/);
    expect(error("list_tasks", { chat: "tg:1" })).toBe(
      'list_tasks: unknown field "chat": list_tasks takes chat_id',
    );
    expect(error("list_chats", { all: true })).toBe(
      'list_chats: unknown field "all": list_chats takes no arguments',
    );
    expect(error("send_message", { text: "hi", chat_id: "tg:1" })).toBe(
      'send_message: unknown field "chat_id": send_message takes text, chatId',
    );
    expect(error("update_task", { task_id: 1 })).toBe(
      "update_task: give at least one of prompt, schedule_type and schedule_value to change",
    );
  });

  it("refuses unknown tools and args that are not an object", () => {
    expect(error("exec", {})).toMatch(/^unknown host tool "exec": use one of send_message, schedule_task/);
    for (const args of [null, [], "x", 3]) {
      expect(error("list_tasks", args)).toBe("list_tasks: the arguments must be an object of named fields");
    }
  });

  it("keeps send_message's schema importable from frames.ts, where the host's policy finds it", () => {
    expect(FromFrames).toBe(SendMessageArgsSchema);
    expect(FromFrames.safeParse({ text: "" }).success).toBe(false);
    expect(error("send_message", { text: " \n" })).toBe(
      'send_message: text must be the message text (not empty) (got " \\n")',
    );
  });
});
