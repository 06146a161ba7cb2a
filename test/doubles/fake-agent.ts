import type { RunnerAgent, TurnOutcome, TurnSink } from "../../container/agent-runner/src/runner-agent.js";
import type { TurnFrame } from "../../src/protocol/index.js";

/** What the fake agent does in one turn; resolving with anything but a TurnOutcome ends it with a default one. */
export type TurnScript = (frame: TurnFrame, sink: TurnSink, signal: AbortSignal) => Promise<unknown>;

/** Echoes the prompt as the final reply. */
export const echo: TurnScript = async (frame, sink) => {
  sink.reply(`echo: ${frame.prompt}`, true);
};

/** A RunnerAgent without pi: each turn plays `script`; records the turns it ran and whether it was closed. */
export class FakeAgent implements RunnerAgent {
  readonly turns: TurnFrame[] = [];
  closed = false;

  constructor(private readonly script: TurnScript = echo) {}

  async runTurn(frame: TurnFrame, sink: TurnSink, signal: AbortSignal): Promise<TurnOutcome> {
    this.turns.push(frame);
    const outcome = await this.script(frame, sink, signal);
    if (isOutcome(outcome)) return outcome;
    return { sessionId: frame.sessionId ?? "session-1", usage: { inputTokens: 3, outputTokens: 2 } };
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/** Never settles until `signal` aborts, then rejects (as pi's prompt does when aborted). */
export function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    const fail = () => reject(new Error("aborted"));
    if (signal.aborted) fail();
    else signal.addEventListener("abort", fail, { once: true });
  });
}

function isOutcome(value: unknown): value is TurnOutcome {
  return typeof value === "object" && value !== null && "sessionId" in value && "usage" in value;
}
