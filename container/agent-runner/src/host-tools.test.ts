import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  type AgentFrame,
  HOST_TOOL_ARGS,
  HOST_TOOL_NAMES,
  type HostToolName,
} from "../../../src/protocol/index.js";
import { FakeAgent } from "../../../test/doubles/fake-agent.js";
import { serveLoop } from "../../../test/doubles/serve-loop.js";
import { waitFor } from "../../../test/wait.js";
import { loadRunnerConfig } from "./config.js";
import { createHostTools, hostToolParameters } from "./host-tools.js";
import type { PiTool } from "./pi-types.js";
import { buildSystemPrompt } from "./system-prompt.js";

/** Raw args a model might send, one valid call per tool (task ids as strings, as models do). */
const CALLS: Record<HostToolName, Record<string, unknown>> = {
  send_message: { text: "on it", chatId: "tg:2" },
  schedule_task: {
    prompt: "check the page",
    schedule_type: "interval",
    schedule_value: "10m",
    context_mode: "isolated",
    chat_id: "tg:2",
  },
  list_tasks: { chat_id: "tg:2" },
  pause_task: { task_id: "7" },
  resume_task: { task_id: 7 },
  cancel_task: { task_id: 3 },
  update_task: { task_id: "3", schedule_type: "cron", schedule_value: "0 8 * * 1-5" },
  register_chat: {
    channel: "telegram",
    jid: "tg:-100123",
    name: "Family",
    folder: "family",
    trigger: "@Andy",
    requires_trigger: false,
  },
  list_chats: {},
};

/** What the model sees from a tool, called as pi does (prepareArguments, then execute): its text or error. */
async function seenByModel(tool: PiTool, args: Record<string, unknown>, signal: AbortSignal) {
  try {
    const prepared = (tool.prepareArguments?.(args) ?? args) as Record<string, unknown>;
    const result = await tool.execute("model-call-1", prepared, signal);
    return { text: result.content.map((c) => c.text).join("") };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

/** A runner whose one turn has the model call `calls` in order, through the real pi tools. */
function modelCalling(calls: [string, Record<string, unknown>][]) {
  const seen: { text?: string; error?: string }[] = [];
  const agent = new FakeAgent(async (_frame, sink, signal) => {
    const tools = new Map(createHostTools(() => sink).map((t) => [t.name, t]));
    for (const [name, args] of calls) {
      const tool = tools.get(name);
      if (!tool) throw new Error(`no tool ${name}`);
      seen.push(await seenByModel(tool, args, signal));
    }
    sink.reply("finished", true);
  });
  return { h: serveLoop(agent), seen };
}

const toolCalls = (frames: AgentFrame[]) =>
  frames.filter((f): f is Extract<AgentFrame, { type: "tool_call" }> => f.type === "tool_call");

describe("host tools in the runner: a pi tool per host tool, over tool_call frames", () => {
  it("has one tool per host tool name", () => {
    expect(createHostTools(() => null).map((t) => t.name)).toEqual([...HOST_TOOL_NAMES]);
  });

  it("sends each tool's call with the model's raw args and gives the host's answer back to the model", async () => {
    const names = [...HOST_TOOL_NAMES];
    const { h, seen } = modelCalling(names.map((n) => [n, CALLS[n]]));
    h.turn("t1");
    for (let i = 0; i < names.length; i++) {
      const call = await waitFor(() => toolCalls(h.frames)[i], `tool call ${i}`);
      expect(call).toMatchObject({ turnId: "t1", name: names[i], args: CALLS[names[i] as HostToolName] });
      h.send({ type: "tool_result", callId: call.callId, ok: true, result: `host did ${call.name}` });
    }
    await h.next("turn_end");
    expect(seen).toEqual(names.map((n) => ({ text: `host did ${n}` })));
  });

  it("throws the host's refusal so the model sees it", async () => {
    const { h, seen } = modelCalling([["register_chat", CALLS.register_chat]]);
    h.turn("t1");
    const call = await h.next("tool_call");
    h.send({
      type: "tool_result",
      callId: call.callId,
      ok: false,
      error: "only the main chat may register chats",
    });
    await h.next("turn_end");
    expect(seen).toEqual([{ error: "only the main chat may register chats" }]);
  });

  it("answers a bad call at once with what to fix; it never leaves the runner", async () => {
    const { h, seen } = modelCalling([
      ["schedule_task", { prompt: "x", schedule_type: "daily", schedule_value: "8:00" }],
      ["pause_task", { task_id: "seven" }],
      ["list_chats", { verbose: true }],
      ["update_task", { task_id: 3 }],
      ["list_tasks", {}],
    ]);
    h.turn("t1");
    const call = await h.next("tool_call");
    h.send({ type: "tool_result", callId: call.callId, ok: true, result: "no tasks" });
    await h.next("turn_end");
    expect(toolCalls(h.frames).map((c) => [c.name, c.args])).toEqual([["list_tasks", {}]]);
    expect(seen).toEqual([
      { error: 'schedule_task: schedule_type must be "cron", "interval" or "once" (got "daily")' },
      {
        error: `pause_task: task_id must be a positive whole number: the task's # from list_tasks (got "seven")`,
      },
      { error: 'list_chats: unknown field "verbose": list_chats takes no arguments' },
      { error: "update_task: give at least one of prompt, schedule_type and schedule_value to change" },
      { text: "no tasks" },
    ]);
  });

  it("refuses bad args in prepareArguments, before pi's own schema check could answer with its generic message", () => {
    const pause = createHostTools(() => null).find((t) => t.name === "pause_task");
    expect(() => pause?.prepareArguments?.({ task_id: "seven" })).toThrow(
      /^pause_task: task_id must be a positive whole number/,
    );
    expect(pause?.prepareArguments?.({ task_id: "7" })).toEqual({ task_id: "7" });
  });

  it("offers the model JSON-schema parameters that match the zod schemas: fields, required ones, enums", () => {
    for (const name of HOST_TOOL_NAMES) {
      const params = hostToolParameters(name) as {
        properties: Record<string, { enum?: string[]; type: string }>;
        required: string[];
        additionalProperties: boolean;
      };
      const shape = HOST_TOOL_ARGS[name].shape as Record<string, z.ZodType>;
      expect(Object.keys(params.properties).sort(), name).toEqual(Object.keys(shape).sort());
      const required = Object.keys(shape).filter((k) => !shape[k]?.safeParse(undefined).success);
      expect([...params.required].sort(), name).toEqual(required.sort());
      expect(params.additionalProperties, name).toBe(false);
      for (const [field, schema] of Object.entries(shape)) {
        const json = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as { enum?: string[] };
        if (json.enum) expect(params.properties[field]?.enum, `${name}.${field}`).toEqual(json.enum);
      }
    }
  });
});

describe("the system prompt", () => {
  const config = loadRunnerConfig({
    NESTBOX_MODEL_PROVIDER: "openai",
    NESTBOX_MODEL: "m",
    NESTBOX_MODEL_BASE_URL: "http://proxy:1/v1",
    NESTBOX_MODEL_TOKEN: "t",
    TZ: "Europe/Berlin",
  });

  it("names every host tool, the chat's time zone, scheduled runs, <no-reply/> and the main-only tools", () => {
    const prompt = buildSystemPrompt(config);
    for (const name of HOST_TOOL_NAMES) expect(prompt).toContain(name);
    expect(prompt).toContain("Europe/Berlin");
    expect(prompt).toContain("<scheduled_task");
    expect(prompt).toMatch(/answer exactly <no-reply\/>/);
    expect(prompt).toMatch(/register_chat .* and list_chats work only in the main chat/);
  });
});
