import type { Logger } from "../log.js";

/** Limits for {@link AgentLogGate}; every field has a default. */
export interface AgentLogLimits {
  /** Lines that may pass at once after a quiet spell. */
  burst?: number;
  /** Lines per second that may pass in a steady stream. */
  perSecond?: number;
  /** Longest message passed on; the rest is cut. */
  maxChars?: number;
  /** How often a summary of dropped lines is written while dropping goes on. */
  summaryIntervalMs?: number;
  now?: () => number;
}

/** The agent's levels mapped to the host's: an agent can never raise `error` or `fatal` in the host log. */
const LEVELS = { debug: "debug", info: "info", warn: "warn", error: "warn" } as const;
export type AgentLogLevel = keyof typeof LEVELS;

/**
 * Everything a container makes the host log goes through here: its `log` frames and the lines the
 * host ignored (bad seal, invalid frames) share one token bucket; its stderr (which any process in
 * the container can write to) has a bucket of its own. So one chat cannot flood the host log; what
 * is dropped is counted and reported as one summary line per interval.
 */
export class AgentLogGate {
  readonly #log: Logger;
  readonly #maxChars: number;
  readonly #intervalMs: number;
  readonly #now: () => number;
  readonly #frames: TokenBucket;
  readonly #stderr: TokenBucket;
  #dropped = { frames: 0, rejected: 0, stderr: 0 };
  #summaryAt = 0;
  #timer: NodeJS.Timeout | null = null;
  /** Lines the host ignored since the container started, dropped from the log or not. */
  rejectedLines = 0;

  constructor(log: Logger, limits: AgentLogLimits = {}) {
    this.#log = log;
    this.#maxChars = limits.maxChars ?? 1024;
    this.#intervalMs = limits.summaryIntervalMs ?? 10_000;
    this.#now = limits.now ?? Date.now;
    const burst = limits.burst ?? 50;
    const perSecond = limits.perSecond ?? 10;
    this.#frames = new TokenBucket(burst, perSecond, this.#now);
    this.#stderr = new TokenBucket(burst, perSecond, this.#now);
    this.#summaryAt = this.#now();
  }

  /** A `log` frame the runner sent. */
  agent(level: AgentLogLevel, message: string): void {
    if (!this.#frames.take()) {
      this.#dropped.frames += 1;
      this.#scheduleSummary();
      return;
    }
    this.#log[LEVELS[level] ?? "warn"]({ agent: true }, this.#clip(message));
    this.#summaryIfDue();
  }

  /** A line the host ignored: `unauthenticated` when its seal failed. */
  rejected(reason: string, unauthenticated: boolean): void {
    this.rejectedLines += 1;
    if (!this.#frames.take()) {
      this.#dropped.rejected += 1;
      this.#scheduleSummary();
      return;
    }
    this.#log.warn(
      { reason: this.#clip(reason), unauthenticated },
      unauthenticated
        ? "ignored an unauthenticated line on the agent's output (written by something other than the runner)"
        : "ignored invalid output from the agent",
    );
    this.#summaryIfDue();
  }

  /** A chunk the container wrote to stderr: debug only, it may come from any process in there. */
  stderr(text: string): void {
    if (!this.#stderr.take()) {
      this.#dropped.stderr += 1;
      this.#scheduleSummary();
      return;
    }
    this.#log.debug({ stderr: this.#clip(text.trimEnd()) }, "agent stderr");
    this.#summaryIfDue();
  }

  /** Writes the pending summary now (at container exit, or from the timer). */
  flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const { frames, rejected, stderr } = this.#dropped;
    if (frames === 0 && rejected === 0 && stderr === 0) return;
    this.#dropped = { frames: 0, rejected: 0, stderr: 0 };
    this.#summaryAt = this.#now();
    this.#log.warn(
      {
        droppedLogFrames: frames,
        droppedRejectedLines: rejected,
        droppedStderrChunks: stderr,
        rejectedLinesTotal: this.rejectedLines,
      },
      `dropped ${frames} log frames, ${rejected} notices of ignored lines and ${stderr} stderr chunks from the agent (log rate limit)`,
    );
  }

  #summaryIfDue(): void {
    if (this.#timer && this.#now() >= this.#summaryAt + this.#intervalMs) this.flush();
  }

  #scheduleSummary(): void {
    const due = this.#summaryAt + this.#intervalMs - this.#now();
    if (due <= 0) {
      this.flush();
      return;
    }
    if (this.#timer) return;
    this.#timer = setTimeout(() => this.flush(), due);
    this.#timer.unref();
  }

  #clip(text: string): string {
    return text.length > this.#maxChars
      ? `${text.slice(0, this.#maxChars)}... [${text.length - this.#maxChars} more chars]`
      : text;
  }
}

/** `burst` tokens at most, refilled at `perSecond`. */
class TokenBucket {
  #tokens: number;
  #refilledAt: number;
  readonly #perMs: number;

  constructor(
    private readonly burst: number,
    perSecond: number,
    private readonly now: () => number,
  ) {
    this.#tokens = burst;
    this.#perMs = perSecond / 1000;
    this.#refilledAt = now();
  }

  take(): boolean {
    const now = this.now();
    this.#tokens = Math.min(this.burst, this.#tokens + (now - this.#refilledAt) * this.#perMs);
    this.#refilledAt = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
