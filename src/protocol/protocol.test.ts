import { describe, expect, it } from "vitest";
import {
  AgentErrorCode,
  AgentFrameSchema,
  createFrameKey,
  encodeFrame,
  encodeKeyLine,
  FrameDecoder,
  FrameSealer,
  HOST_TOOL_NAMES,
  HostFrameSchema,
  MAX_FRAME_BYTES,
  MAX_LINE_BYTES,
  parseAgentFrame,
  parseHostFrame,
  parseKeyLine,
  TURN_REFUSALS,
} from "./index.js";

const reply = (text: string) => ({ type: "reply", turnId: "t1", text, final: true }) as const;
const kinds = (results: { ok: boolean; frame?: unknown; reason?: string }[]) =>
  results.map((r) => (r.ok ? (r.frame as { type: string }).type : `rejected: ${r.reason}`));

describe("host <-> agent protocol (the module both sides import)", () => {
  it("round-trips every frame kind through encode and parse", () => {
    const turn = { type: "turn", turnId: "t1", prompt: "hi", sessionId: null } as const;
    expect(encodeFrame(turn).endsWith("\n")).toBe(true);
    expect(parseHostFrame(encodeFrame(turn))).toEqual({ ok: true, frame: turn });
    expect(parseAgentFrame(encodeFrame(reply("hello")))).toEqual({ ok: true, frame: reply("hello") });
  });

  it("rejects what is not a valid frame, in either direction, without throwing", () => {
    for (const line of [
      "not json",
      "{}",
      '{"type":"reply","turnId":"t1"}',
      '{"type":"exec","cmd":"rm -rf /"}',
      "[1,2]",
    ]) {
      expect(parseAgentFrame(line).ok).toBe(false);
    }
    expect(parseHostFrame('{"type":"reply","turnId":"t","text":"x","final":true}').ok).toBe(false);
    expect(parseAgentFrame('{"type":"turn","turnId":"t","prompt":"x","sessionId":null}').ok).toBe(false);
    expect(parseAgentFrame('{"type":"shutdown"}').ok).toBe(false);
  });

  it("knows the error codes of both sides: one enum, an unknown code is not a valid frame", () => {
    const error = (code: string) => JSON.stringify({ type: "error", turnId: "t1", code, message: "m" });
    for (const code of Object.values(AgentErrorCode)) expect(parseAgentFrame(error(code)).ok).toBe(true);
    expect(parseAgentFrame(error("Busy")).ok).toBe(false);
    expect(parseAgentFrame(error("made_up")).ok).toBe(false);
    expect([...TURN_REFUSALS].sort()).toEqual([AgentErrorCode.Busy, AgentErrorCode.ShuttingDown]);
  });
});

describe("tool_call frames: any host tool by name, its args as an object", () => {
  const call = (name: string, args: unknown) =>
    JSON.stringify({ type: "tool_call", turnId: "t1", callId: "c1", name, args });

  it("round-trips a call of each host tool with its args as given (the host checks them per tool)", () => {
    const args: Record<(typeof HOST_TOOL_NAMES)[number], Record<string, unknown>> = {
      send_message: { text: "hi", chatId: "tg:2" },
      schedule_task: {
        prompt: "check",
        schedule_type: "cron",
        schedule_value: "0 8 * * *",
        context_mode: "group",
      },
      list_tasks: {},
      pause_task: { task_id: 3 },
      resume_task: { task_id: "3" },
      cancel_task: { task_id: 3 },
      update_task: { task_id: 3, prompt: "new", nested: { kept: [1, null] } },
      register_chat: { channel: "whatsapp", jid: "1@g.us", name: "G", folder: "g", requires_trigger: true },
      list_chats: {},
    };
    for (const name of HOST_TOOL_NAMES) {
      const frame = { type: "tool_call", turnId: "t1", callId: `c-${name}`, name, args: args[name] } as const;
      expect(parseAgentFrame(encodeFrame(frame)), name).toEqual({ ok: true, frame });
    }
  });

  it("rejects a call of an unknown tool, and args that are not an object", () => {
    for (const name of ["exec", "Send_Message", "", "schedule-task"]) {
      expect(parseAgentFrame(call(name, {})).ok, name).toBe(false);
    }
    for (const args of [null, "text", [1, 2], 7]) {
      expect(parseAgentFrame(call("list_tasks", args)).ok, JSON.stringify(args)).toBe(false);
    }
    expect(
      parseAgentFrame(JSON.stringify({ type: "tool_call", turnId: "t1", callId: "c1", name: "list_chats" }))
        .ok,
    ).toBe(false);
  });

  it("still refuses to seal a tool call larger than a frame, and drops such a line on arrival", () => {
    const key = createFrameKey();
    const sealer = new FrameSealer(key, "agent");
    const huge = { text: "x".repeat(MAX_FRAME_BYTES) };
    const frame = {
      type: "tool_call",
      turnId: "t1",
      callId: "c1",
      name: "send_message",
      args: huge,
    } as const;
    expect(() => sealer.seal(frame)).toThrow(RangeError);
    const decoder = new FrameDecoder({ schema: AgentFrameSchema, key, from: "agent" });
    const line = `1 ${"a".repeat(64)} ${call("schedule_task", { prompt: "y".repeat(MAX_LINE_BYTES) })}\n`;
    expect(kinds([...decoder.push(line), ...decoder.push(sealer.seal(reply("after")))])).toEqual([
      `rejected: line exceeds ${MAX_LINE_BYTES} bytes`,
      "reply",
    ]);
  });
});

describe("sealed lines: a per-container key, a MAC and a rising sequence number per direction", () => {
  const key = createFrameKey();
  const agentDecoder = () => new FrameDecoder({ schema: AgentFrameSchema, key, from: "agent" });

  it("hands over the key as a first line that only a key line passes", () => {
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(createFrameKey()).not.toBe(key);
    expect(parseKeyLine(encodeKeyLine(key))).toBe(key);
    expect(parseKeyLine(`${key}\n`)).toBeNull();
    expect(parseKeyLine('{"type":"turn"}')).toBeNull();
    expect(() => encodeKeyLine("short")).toThrow(RangeError);
  });

  it("accepts the frames the other side sealed, split anywhere across chunks", () => {
    const sealer = new FrameSealer(key, "agent");
    const wire = sealer.seal({ type: "ready", version: "1" }) + sealer.seal(reply("hi"));
    const decoder = agentDecoder();
    const results = [...decoder.push(wire.slice(0, 7)), ...decoder.push(Buffer.from(wire.slice(7)))];
    expect(results).toEqual([
      { ok: true, frame: { type: "ready", version: "1" } },
      { ok: true, frame: reply("hi") },
    ]);
  });

  it("refuses plain JSON, a wrong key, the other direction's seal and tampered JSON", () => {
    const decoder = agentDecoder();
    const genuine = new FrameSealer(key, "agent").seal(reply("real"));
    const [seq, mac] = genuine.split(" ");
    const results = decoder.push(
      [
        encodeFrame(reply("plain")),
        new FrameSealer(createFrameKey(), "agent").seal(reply("wrong key")),
        new FrameSealer(key, "host").seal(reply("host direction")),
        `${seq} ${mac} ${JSON.stringify(reply("tampered"))}\n`,
        `${seq} ${"0".repeat(64)} ${JSON.stringify(reply("zero mac"))}\n`,
        genuine,
      ].join(""),
    );
    expect(kinds(results)).toEqual([
      "rejected: unauthenticated line (no seal)",
      "rejected: unauthenticated line (bad MAC)",
      "rejected: unauthenticated line (bad MAC)",
      "rejected: unauthenticated line (bad MAC)",
      "rejected: unauthenticated line (bad MAC)",
      "reply",
    ]);
    expect(results.slice(0, 5).every((r) => !r.ok && r.unauthenticated === true)).toBe(true);
  });

  it("refuses a replayed line and one sealed earlier than the last accepted", () => {
    const sealer = new FrameSealer(key, "agent");
    const first = sealer.seal(reply("one"));
    const second = sealer.seal(reply("two"));
    const third = sealer.seal(reply("three"));
    const decoder = agentDecoder();
    expect(kinds(decoder.push(first + first + third + second))).toEqual([
      "reply",
      "rejected: replayed or reordered line (seq 1 after 1)",
      "reply",
      "rejected: replayed or reordered line (seq 2 after 3)",
    ]);
  });

  it("parses authentic lines with the direction's schema only: a host frame sealed by the agent is refused", () => {
    const sealer = new FrameSealer(key, "agent");
    const results = agentDecoder().push(
      sealer.seal({ type: "turn", turnId: "t9", prompt: "x", sessionId: null }) + sealer.seal(reply("ok")),
    );
    expect(results[0]).toMatchObject({ ok: false, reason: expect.stringMatching(/^invalid frame/) });
    expect(results[0]?.ok === false && results[0].unauthenticated).toBeFalsy();
    expect(kinds(results.slice(1))).toEqual(["reply"]);
    const hostDecoder = new FrameDecoder({ schema: HostFrameSchema, key, from: "host" });
    const hostSealer = new FrameSealer(key, "host");
    expect(kinds(hostDecoder.push(hostSealer.seal({ type: "shutdown" })))).toEqual(["shutdown"]);
  });

  it("drops an oversized line up to its newline, and keeps going", () => {
    const sealer = new FrameSealer(key, "agent");
    const decoder = agentDecoder();
    const huge = `1 ${"a".repeat(64)} {"type":"log","level":"info","message":"${"x".repeat(MAX_LINE_BYTES)}"}\n`;
    const good = sealer.seal({ type: "ready", version: "2" });
    const results = [
      ...decoder.push(huge.slice(0, 1000)),
      ...decoder.push(huge.slice(1000)),
      ...decoder.push(good),
    ];
    expect(kinds(results)).toEqual([`rejected: line exceeds ${MAX_LINE_BYTES} bytes`, "ready"]);
    expect(() => sealer.seal({ type: "log", level: "info", message: "y".repeat(MAX_FRAME_BYTES) })).toThrow(
      RangeError,
    );
    // A frame too large to seal uses no sequence number: the next one still passes.
    expect(kinds(decoder.push(sealer.seal(reply("after"))))).toEqual(["reply"]);
  });

  it("still checks a last line without newline at end of stream", () => {
    const decoder = agentDecoder();
    const line = new FrameSealer(key, "agent").seal(reply("tail")).trimEnd();
    expect(decoder.push(line)).toEqual([]);
    expect(kinds(decoder.end())).toEqual(["reply"]);
  });
});
