// Host <-> agent protocol: newline-delimited JSON frames over the container's attached stdio.
// This module is the single definition, imported by the host (TypeScript, through protocol.d.ts)
// and by the agent runner. It must stay free of side effects and of anything but zod.
import { z } from "zod";

/** Longest accepted frame line in bytes (UTF-8, without the newline). Longer lines are rejected. */
export const MAX_FRAME_BYTES = 1024 * 1024;

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
 * Parse one line (a trailing "\n" or "\r\n" is allowed) into a frame validated by `schema`
 * (default: any frame). Never throws.
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
 * Serialize a frame as one JSON line ending in "\n". Throws a RangeError when the line would
 * exceed MAX_FRAME_BYTES (the other side would reject it).
 */
export function encodeFrame(frame) {
  const json = JSON.stringify(frame);
  if (json.length * 3 > MAX_FRAME_BYTES && utf8.encode(json).length > MAX_FRAME_BYTES) {
    throw new RangeError(`frame of type ${String(frame?.type)} exceeds ${MAX_FRAME_BYTES} bytes`);
  }
  return `${json}\n`;
}

/**
 * Splits a byte or text stream into lines and parses each as a frame. Bounded memory: a line longer
 * than MAX_FRAME_BYTES is dropped (up to its newline) and reported once as a failed parse.
 */
export class FrameDecoder {
  #schema;
  #decoder = new TextDecoder();
  #buffer = "";
  #discarding = false;

  constructor(schema = FrameSchema) {
    this.#schema = schema;
  }

  /** Feed a chunk; returns the parse results of the lines it completed (empty lines are skipped). */
  push(chunk) {
    this.#buffer += typeof chunk === "string" ? chunk : this.#decoder.decode(chunk, { stream: true });
    const results = [];
    let newline = this.#buffer.indexOf("\n");
    while (newline !== -1) {
      const line = this.#buffer.slice(0, newline);
      this.#buffer = this.#buffer.slice(newline + 1);
      if (this.#discarding) {
        this.#discarding = false;
      } else if (line.trim() !== "") {
        results.push(parseFrame(line, this.#schema));
      }
      newline = this.#buffer.indexOf("\n");
    }
    if (this.#buffer.length > MAX_FRAME_BYTES) {
      if (!this.#discarding) {
        results.push({ ok: false, reason: `frame exceeds ${MAX_FRAME_BYTES} bytes` });
      }
      this.#discarding = true;
      this.#buffer = "";
    }
    return results;
  }

  /** Flush at end of stream: a last line without newline is still parsed. */
  end() {
    this.#buffer += this.#decoder.decode();
    const rest = this.#buffer;
    this.#buffer = "";
    const discarding = this.#discarding;
    this.#discarding = false;
    if (discarding || rest.trim() === "") return [];
    return [parseFrame(rest, this.#schema)];
  }
}
