import { describe, expect, it } from "vitest";
import {
  encodeFrame,
  FrameDecoder,
  MAX_FRAME_BYTES,
  parseAgentFrame,
  parseHostFrame,
} from "../../container/agent-runner/src/protocol.js";

describe("host <-> agent protocol (the module both sides import)", () => {
  it("round-trips every frame kind through encode and parse", () => {
    const turn = { type: "turn", turnId: "t1", prompt: "hi", sessionId: null } as const;
    expect(encodeFrame(turn).endsWith("\n")).toBe(true);
    expect(parseHostFrame(encodeFrame(turn))).toEqual({ ok: true, frame: turn });
    const reply = { type: "reply", turnId: "t1", text: "hello", final: true } as const;
    expect(parseAgentFrame(encodeFrame(reply))).toEqual({ ok: true, frame: reply });
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
  });

  it("splits a stream into frames, drops an oversized line up to its newline, and keeps going", () => {
    const decoder = new FrameDecoder();
    const good = encodeFrame({ type: "ready", version: "1" });
    const huge = `{"type":"log","level":"info","message":"${"x".repeat(MAX_FRAME_BYTES)}"}\n`;
    const results = [
      ...decoder.push(good.slice(0, 5)),
      ...decoder.push(good.slice(5) + huge.slice(0, 1000)),
      ...decoder.push(huge.slice(1000)),
      ...decoder.push('{"type":"ready","version":"2"}\n'),
    ];
    expect(results.map((r) => (r.ok ? r.frame.type : "rejected"))).toEqual(["ready", "rejected", "ready"]);
    expect(() => encodeFrame({ type: "log", level: "info", message: "y".repeat(MAX_FRAME_BYTES) })).toThrow(
      RangeError,
    );
  });
});
