// Types for protocol.js, written by hand so the TypeScript host can import the runner's plain-JS
// module without allowJs. Keep in step with protocol.js (the schema shapes below mirror it exactly).
import type { z } from "zod";

export {
  createFrameKey,
  encodeFrame,
  encodeKeyLine,
  FrameOpener,
  FrameSealer,
  type FrameSide,
  MAX_FRAME_BYTES,
  MAX_LINE_BYTES,
  parseKeyLine,
} from "./wire.js";

import type { FrameSide } from "./wire.js";

type Id = z.ZodString;
type SessionId = z.ZodNullable<z.ZodString>;

// host -> agent

/** Run one agent turn. `sessionId` resumes an earlier conversation; null starts a new one. */
export declare const TurnFrameSchema: z.ZodObject<{
  type: z.ZodLiteral<"turn">;
  turnId: Id;
  prompt: z.ZodString;
  sessionId: SessionId;
}>;
/** Answer to a `tool_call` frame with the same `callId`. */
export declare const ToolResultFrameSchema: z.ZodObject<{
  type: z.ZodLiteral<"tool_result">;
  callId: Id;
  ok: z.ZodBoolean;
  result: z.ZodOptional<z.ZodString>;
  error: z.ZodOptional<z.ZodString>;
}>;
/** Abort the running turn with this id (ignored when it is not running). */
export declare const CancelFrameSchema: z.ZodObject<{ type: z.ZodLiteral<"cancel">; turnId: Id }>;
/** Finish and exit 0. Closing stdin means the same. */
export declare const ShutdownFrameSchema: z.ZodObject<{ type: z.ZodLiteral<"shutdown"> }>;
/** Every frame the host may send. */
export declare const HostFrameSchema: z.ZodDiscriminatedUnion<
  [
    typeof TurnFrameSchema,
    typeof ToolResultFrameSchema,
    typeof CancelFrameSchema,
    typeof ShutdownFrameSchema,
  ],
  "type"
>;

// agent -> host

/** First frame after start: the runner reads stdin from now on. */
export declare const ReadyFrameSchema: z.ZodObject<{ type: z.ZodLiteral<"ready">; version: z.ZodString }>;
/** Text of one assistant message; `final` marks the turn's closing message. */
export declare const ReplyFrameSchema: z.ZodObject<{
  type: z.ZodLiteral<"reply">;
  turnId: Id;
  text: z.ZodString;
  final: z.ZodBoolean;
}>;
/** Arguments of the `send_message` host tool. */
export declare const SendMessageArgsSchema: z.ZodObject<{
  text: z.ZodString;
  chatId: z.ZodOptional<z.ZodString>;
}>;
/** The agent calls a host tool; the host answers with `tool_result` carrying the same `callId`. */
export declare const ToolCallFrameSchema: z.ZodObject<{
  type: z.ZodLiteral<"tool_call">;
  turnId: Id;
  callId: Id;
  name: z.ZodLiteral<"send_message">;
  args: typeof SendMessageArgsSchema;
}>;
/** Token usage of one turn, summed over its model calls (input includes cache reads and writes). */
export declare const UsageSchema: z.ZodObject<{ inputTokens: z.ZodNumber; outputTokens: z.ZodNumber }>;
/** Last frame of every accepted turn, after any `reply` and `error` frames of that turn. */
export declare const TurnEndFrameSchema: z.ZodObject<{
  type: z.ZodLiteral<"turn_end">;
  turnId: Id;
  sessionId: SessionId;
  usage: z.ZodNullable<typeof UsageSchema>;
}>;
/** Something failed; `turnId` is null when no turn is concerned. */
export declare const ErrorFrameSchema: z.ZodObject<{
  type: z.ZodLiteral<"error">;
  turnId: z.ZodNullable<Id>;
  code: z.ZodString;
  message: z.ZodString;
}>;
/** Diagnostics for the host's log; never shown to a chat. */
export declare const LogFrameSchema: z.ZodObject<{
  type: z.ZodLiteral<"log">;
  level: z.ZodEnum<{ debug: "debug"; info: "info"; warn: "warn"; error: "error" }>;
  message: z.ZodString;
}>;
/** Every frame the agent may send. */
export declare const AgentFrameSchema: z.ZodDiscriminatedUnion<
  [
    typeof ReadyFrameSchema,
    typeof ReplyFrameSchema,
    typeof ToolCallFrameSchema,
    typeof TurnEndFrameSchema,
    typeof ErrorFrameSchema,
    typeof LogFrameSchema,
  ],
  "type"
>;
/** Every frame of either direction. */
export declare const FrameSchema: z.ZodDiscriminatedUnion<
  [
    typeof TurnFrameSchema,
    typeof ToolResultFrameSchema,
    typeof CancelFrameSchema,
    typeof ShutdownFrameSchema,
    typeof ReadyFrameSchema,
    typeof ReplyFrameSchema,
    typeof ToolCallFrameSchema,
    typeof TurnEndFrameSchema,
    typeof ErrorFrameSchema,
    typeof LogFrameSchema,
  ],
  "type"
>;

export type TurnFrame = z.infer<typeof TurnFrameSchema>;
export type ToolResultFrame = z.infer<typeof ToolResultFrameSchema>;
export type CancelFrame = z.infer<typeof CancelFrameSchema>;
export type ShutdownFrame = z.infer<typeof ShutdownFrameSchema>;
export type HostFrame = z.infer<typeof HostFrameSchema>;
export type ReadyFrame = z.infer<typeof ReadyFrameSchema>;
export type ReplyFrame = z.infer<typeof ReplyFrameSchema>;
export type SendMessageArgs = z.infer<typeof SendMessageArgsSchema>;
export type ToolCallFrame = z.infer<typeof ToolCallFrameSchema>;
export type Usage = z.infer<typeof UsageSchema>;
export type TurnEndFrame = z.infer<typeof TurnEndFrameSchema>;
export type ErrorFrame = z.infer<typeof ErrorFrameSchema>;
export type LogFrame = z.infer<typeof LogFrameSchema>;
export type AgentFrame = z.infer<typeof AgentFrameSchema>;
export type Frame = z.infer<typeof FrameSchema>;

/** Result of checking and parsing one line: the validated frame, or why it was rejected. */
export type ParseResult<T> =
  | { ok: true; frame: T }
  /** `unauthenticated`: the line's seal failed, so anyone in the container may have written it. */
  | { ok: false; reason: string; unauthenticated?: boolean };

/**
 * Parse one frame JSON line (a trailing "\n" or "\r\n" is allowed) into a frame validated by
 * `schema` (default: any frame). Never throws. The line is the frame alone, its seal already checked.
 */
export declare function parseFrame(line: string): ParseResult<Frame>;
export declare function parseFrame<S extends z.ZodType>(line: string, schema: S): ParseResult<z.output<S>>;
/** Parse a frame the host sent. */
export declare function parseHostFrame(line: string): ParseResult<HostFrame>;
/** Parse a frame the agent sent. */
export declare function parseAgentFrame(line: string): ParseResult<AgentFrame>;

/** Options for {@link FrameDecoder}: the schema of the direction read, its key and its sender. */
export interface FrameDecoderOptions<T> {
  schema: z.ZodType<T>;
  key: string;
  from: FrameSide;
}

/**
 * Splits the other side's byte stream into sealed lines, checks each line's seal (FrameOpener) and
 * parses the authentic ones with `schema`. Bounded memory: a line longer than MAX_LINE_BYTES is
 * dropped (up to its newline) and reported once. Rejected lines carry `unauthenticated: true` when
 * their seal failed (anyone in the container may have written them), so callers can count them apart.
 */
export declare class FrameDecoder<T> {
  constructor(options: FrameDecoderOptions<T>);
  /** Feed a chunk; returns the results of the lines it completed (empty lines are skipped). */
  push(chunk: string | Uint8Array): ParseResult<T>[];
  /** Flush at end of stream: a last line without newline is still checked. */
  end(): ParseResult<T>[];
}
