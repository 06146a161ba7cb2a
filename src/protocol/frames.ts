// Host <-> agent protocol: newline-delimited JSON frames over the container's attached stdio.
// This module is the single definition, imported by the host (TypeScript, through protocol.d.ts)
// and by the agent runner. It must stay free of side effects and of anything but zod and wire.js
// (the authenticated line form, which the runner also loads alone, before zod).
import { z } from "zod";
import { FrameOpener, MAX_FRAME_BYTES, MAX_LINE_BYTES } from "./wire.js";

export {
  createFrameKey,
  encodeFrame,
  encodeKeyLine,
  FrameOpener,
  FrameSealer,
  MAX_FRAME_BYTES,
  MAX_LINE_BYTES,
  parseKeyLine,
} from "./wire.js";

const id = z.string().min(1).max(256);
const sessionId = z.string().min(1).max(256).nullable();

// host -> agent

/** Run one agent turn. `sessionId` resumes an earlier conversation; null starts a new one. */
export const TurnFrameSchema = z.object({
  type: z.literal("turn"),
  turnId: id,
  prompt: z.string(),
  sessionId,
});

/** Answer to a `tool_call` frame with the same `callId`. */
export const ToolResultFrameSchema = z.object({
  type: z.literal("tool_result"),
  callId: id,
  ok: z.boolean(),
  result: z.string().optional(),
  error: z.string().optional(),
});

/** Abort the running turn with this id (ignored when it is not running). */
export const CancelFrameSchema = z.object({ type: z.literal("cancel"), turnId: id });

/** Finish and exit 0. Closing stdin means the same. */
export const ShutdownFrameSchema = z.object({ type: z.literal("shutdown") });

/** Every frame the host may send. */
export const HostFrameSchema = z.discriminatedUnion("type", [
  TurnFrameSchema,
  ToolResultFrameSchema,
  CancelFrameSchema,
  ShutdownFrameSchema,
]);

// agent -> host

/** First frame after start: the runner reads stdin from now on. */
export const ReadyFrameSchema = z.object({ type: z.literal("ready"), version: z.string() });

/** Text of one assistant message; `final` marks the turn's closing message. */
export const ReplyFrameSchema = z.object({
  type: z.literal("reply"),
  turnId: id,
  text: z.string(),
  final: z.boolean(),
});

/** Arguments of the `send_message` host tool. */
export const SendMessageArgsSchema = z.object({
  text: z.string().min(1),
  chatId: z.string().min(1).optional(),
});

/** The agent calls a host tool; the host answers with `tool_result` carrying the same `callId`. */
export const ToolCallFrameSchema = z.object({
  type: z.literal("tool_call"),
  turnId: id,
  callId: id,
  name: z.literal("send_message"),
  args: SendMessageArgsSchema,
});

/** Token usage of one turn, summed over its model calls (input includes cache reads and writes). */
export const UsageSchema = z.object({
  inputTokens: z.number().int().nonnegative(),
  outputTokens: z.number().int().nonnegative(),
});

/** Last frame of every accepted turn, after any `reply` and `error` frames of that turn. */
export const TurnEndFrameSchema = z.object({
  type: z.literal("turn_end"),
  turnId: id,
  sessionId,
  usage: UsageSchema.nullable(),
});

/** Something failed; `turnId` is null when no turn is concerned. */
export const ErrorFrameSchema = z.object({
  type: z.literal("error"),
  turnId: id.nullable(),
  code: z.string().min(1),
  message: z.string(),
});

/** Diagnostics for the host's log; never shown to a chat. */
export const LogFrameSchema = z.object({
  type: z.literal("log"),
  level: z.enum(["debug", "info", "warn", "error"]),
  message: z.string(),
});

/** Every frame the agent may send. */
export const AgentFrameSchema = z.discriminatedUnion("type", [
  ReadyFrameSchema,
  ReplyFrameSchema,
  ToolCallFrameSchema,
  TurnEndFrameSchema,
  ErrorFrameSchema,
  LogFrameSchema,
]);

/** Every frame of either direction. */
export const FrameSchema = z.discriminatedUnion("type", [
  ...HostFrameSchema.options,
  ...AgentFrameSchema.options,
]);

const utf8 = new TextEncoder();

/**
 * Parse one frame JSON line (a trailing "\n" or "\r\n" is allowed) into a frame validated by
 * `schema` (default: any frame). Never throws. The line is the frame alone, its seal already checked.
 */
export function parseFrame(line, schema = FrameSchema) {
  if (typeof line !== "string") return { ok: false, reason: "frame is not a string" };
  const text = line.replace(/\r?\n$/, "");
  // Cheap bound first: a UTF-16 code unit takes at most 3 UTF-8 bytes.
  if (
    text.length > MAX_FRAME_BYTES ||
    (text.length * 3 > MAX_FRAME_BYTES && utf8.encode(text).length > MAX_FRAME_BYTES)
  ) {
    return { ok: false, reason: `frame exceeds ${MAX_FRAME_BYTES} bytes` };
  }
  if (text.trim() === "") return { ok: false, reason: "empty line" };
  let value;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `not JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    const issues = result.error.issues
      .slice(0, 5)
      .map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`)
      .join("; ");
    return { ok: false, reason: `invalid frame: ${issues}` };
  }
  return { ok: true, frame: result.data };
}

/** Parse a frame the host sent. */
export function parseHostFrame(line) {
  return parseFrame(line, HostFrameSchema);
}

/** Parse a frame the agent sent. */
export function parseAgentFrame(line) {
  return parseFrame(line, AgentFrameSchema);
}

/**
 * Splits the other side's byte stream into sealed lines, checks each line's seal (FrameOpener) and
 * parses the authentic ones with `schema`. Bounded memory: a line longer than MAX_LINE_BYTES is
 * dropped (up to its newline) and reported once. Rejected lines carry `unauthenticated: true` when
 * their seal failed (anyone in the container may have written them), so callers can count them apart.
 */
export class FrameDecoder {
  #schema;
  #opener;
  #decoder = new TextDecoder();
  #buffer = "";
  #discarding = false;

  /** @param {{ schema: import("zod").ZodType, key: string, from: "host" | "agent" }} options */
  constructor({ schema, key, from }) {
    this.#schema = schema;
    this.#opener = new FrameOpener(key, from);
  }

  /** Feed a chunk; returns the results of the lines it completed (empty lines are skipped). */
  push(chunk) {
    this.#buffer += typeof chunk === "string" ? chunk : this.#decoder.decode(chunk, { stream: true });
    const results = [];
    let start = 0;
    let newline = this.#buffer.indexOf("\n");
    while (newline !== -1) {
      const line = this.#buffer.slice(start, newline);
      start = newline + 1;
      if (this.#discarding) this.#discarding = false;
      else if (line.trim() !== "") results.push(this.#line(line));
      newline = this.#buffer.indexOf("\n", start);
    }
    this.#buffer = this.#buffer.slice(start);
    if (this.#buffer.length > MAX_LINE_BYTES) {
      if (!this.#discarding) results.push(oversized());
      this.#discarding = true;
      this.#buffer = "";
    }
    return results;
  }

  /** Flush at end of stream: a last line without newline is still checked. */
  end() {
    this.#buffer += this.#decoder.decode();
    const rest = this.#buffer;
    this.#buffer = "";
    const discarding = this.#discarding;
    this.#discarding = false;
    if (discarding || rest.trim() === "") return [];
    return [this.#line(rest)];
  }

  #line(line) {
    if (line.length > MAX_LINE_BYTES) return oversized();
    const opened = this.#opener.open(line);
    if (!opened.ok) return { ok: false, reason: opened.reason, unauthenticated: true };
    return parseFrame(opened.json, this.#schema);
  }
}

function oversized() {
  return { ok: false, reason: `line exceeds ${MAX_LINE_BYTES} bytes`, unauthenticated: true };
}
