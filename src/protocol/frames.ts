// Host <-> agent protocol: the frames, as zod schemas. The one definition, used by the host
// (src/agents/agent-container.ts) and bundled into the agent runner by the image build
// (container/agent-runner/build/bundle-runner.mjs). Free of side effects and of anything but zod.
import { z } from "zod";
import { AgentErrorCode } from "./error-codes.js";
import { HOST_TOOL_NAMES } from "./host-tools.js";

// send_message's args schema lived here before the host tools got a file of their own.
export { type SendMessageArgs, SendMessageArgsSchema } from "./host-tools.js";

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

/**
 * The agent calls a host tool; the host answers with `tool_result` carrying the same `callId`.
 * `args` are checked per tool by the host (host-tools.ts); the frame only carries them.
 */
export const ToolCallFrameSchema = z.object({
  type: z.literal("tool_call"),
  turnId: id,
  callId: id,
  name: z.enum(HOST_TOOL_NAMES),
  args: z.record(z.string(), z.unknown()),
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

/** Something failed; `turnId` is null when no turn is concerned. Codes outside the enum are invalid. */
export const ErrorFrameSchema = z.object({
  type: z.literal("error"),
  turnId: id.nullable(),
  code: z.enum(AgentErrorCode),
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

export type TurnFrame = z.infer<typeof TurnFrameSchema>;
export type ToolResultFrame = z.infer<typeof ToolResultFrameSchema>;
export type CancelFrame = z.infer<typeof CancelFrameSchema>;
export type ShutdownFrame = z.infer<typeof ShutdownFrameSchema>;
export type HostFrame = z.infer<typeof HostFrameSchema>;
export type ReadyFrame = z.infer<typeof ReadyFrameSchema>;
export type ReplyFrame = z.infer<typeof ReplyFrameSchema>;
export type ToolCallFrame = z.infer<typeof ToolCallFrameSchema>;
export type Usage = z.infer<typeof UsageSchema>;
export type TurnEndFrame = z.infer<typeof TurnEndFrameSchema>;
export type ErrorFrame = z.infer<typeof ErrorFrameSchema>;
export type LogFrame = z.infer<typeof LogFrameSchema>;
export type AgentFrame = z.infer<typeof AgentFrameSchema>;
export type Frame = z.infer<typeof FrameSchema>;
