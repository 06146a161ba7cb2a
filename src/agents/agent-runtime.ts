import type { ToolCallFrame } from "../protocol/index.js";
import type { RegisteredChat } from "../registration/chat.js";

/** What a turn asks of the agent. */
export interface TurnRequest {
  chat: RegisteredChat;
  /** The catch-up prompt: every message since the chat's last turn, capped. */
  prompt: string;
  /** The agent session to resume, or null for a new one. */
  sessionId: string | null;
  /** Aborted when the host gives up on the turn (shutdown, timeout). */
  signal: AbortSignal;
  /** Answers the agent's host tool calls during this turn (the pipeline's policy); rejects to refuse. */
  onToolCall: (call: ToolCallFrame) => Promise<string>;
}

/** Token usage one turn reported. */
export interface TurnUsage {
  inputTokens: number;
  outputTokens: number;
}

/** What an agent streams back during a turn. */
export type AgentEvent =
  | { type: "reply"; text: string; final: boolean }
  | { type: "turn_end"; sessionId: string | null; usage: TurnUsage | null };

/**
 * The seam between the host pipeline and whatever runs agents: the container supervisor in
 * production, an in-process function in tests. A failed turn throws an AgentError from the iterator.
 */
export interface AgentRuntime {
  runTurn(request: TurnRequest): AsyncIterable<AgentEvent>;
  /** Tells the runtime a chat is active so it can warm its agent up; optional work, never required. */
  prewarm?(chat: RegisteredChat): void;
  /** Stops every agent; running turns are cancelled within a bound. */
  shutdown(): Promise<void>;
}
