// The seam between the serve loop (serve.ts, frames) and what runs a turn (agent.ts, pi; or a fake
// agent in the unit tests).

import type { AgentErrorCode } from "../../../src/protocol/error-codes.js";
import type { TurnFrame, Usage } from "../../../src/protocol/frames.js";
import type { HostToolName } from "../../../src/protocol/host-tools.js";

/** How the host answered a host tool call. */
export interface HostToolResult {
  ok: boolean;
  result?: string;
  error?: string;
}

/** Where a turn's output goes; every call becomes a frame of that turn. */
export interface TurnSink {
  reply(text: string, final: boolean): void;
  error(code: AgentErrorCode, message: string): void;
  log(level: "debug" | "info" | "warn" | "error", message: string): void;
  /** Calls a host tool with these args (sent as given); resolves with the host's answer (never rejects). */
  callHostTool(
    name: HostToolName,
    args: Record<string, unknown>,
    signal: AbortSignal,
  ): Promise<HostToolResult>;
}

/** What a finished turn reports in its `turn_end` frame. */
export interface TurnOutcome {
  sessionId: string | null;
  usage: Usage | null;
}

/** Runs turns for the serve loop, one at a time. */
export interface RunnerAgent {
  /** Run one turn; resolves when it is over (also after an abort through `signal`). */
  runTurn(frame: TurnFrame, sink: TurnSink, signal: AbortSignal): Promise<TurnOutcome>;
  /** Abort whatever runs and release resources. */
  close(): Promise<void>;
}
