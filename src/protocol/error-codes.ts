// The codes of `error` frames, one list for both sides. No imports: the runner uses these before
// zod is loaded (a bad configuration is reported before `ready`).

/** Why the runner reports an error; the host turns the code into an AgentError with the same code. */
export const AgentErrorCode = {
  /** A turn arrived while another was running; the turn was refused (no `turn_end` follows). */
  Busy: "busy",
  /** A turn arrived after `shutdown`; the turn was refused (no `turn_end` follows). */
  ShuttingDown: "shutting_down",
  /** The runner's environment is invalid; it exits after this frame. */
  BadConfig: "bad_config",
  /** pi (or the proxy dispatcher) failed to load, so no turn can run. */
  RuntimeUnavailable: "runtime_unavailable",
  /** The turn was cancelled (cancel frame, shutdown or end of input). */
  Cancelled: "cancelled",
  /** The agent threw while running the turn. */
  TurnFailed: "turn_failed",
  /** The model call failed. */
  ModelError: "model_error",
  /** The model endpoint kept failing for the whole retry window (an outage, not a refusal). */
  ModelUnavailable: "model_unavailable",
  /** A frame was too large to send; this error replaces it. */
  FrameTooLarge: "frame_too_large",
  /** An exception nothing else caught. */
  Internal: "internal",
} as const;

/** One of {@link AgentErrorCode}'s values. */
export type AgentErrorCode = (typeof AgentErrorCode)[keyof typeof AgentErrorCode];

/** Codes with which the runner refuses a turn outright: no `turn_end` follows them. */
export const TURN_REFUSALS: ReadonlySet<AgentErrorCode> = new Set([
  AgentErrorCode.Busy,
  AgentErrorCode.ShuttingDown,
]);
