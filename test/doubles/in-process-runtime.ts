import type { AgentEvent, AgentRuntime, TurnRequest } from "../../src/agents/agent-runtime.js";

/** A test agent: returns the reply text (or a list of them), or yields events itself. */
export type InProcessAgent = (request: TurnRequest) => Promise<string | string[]> | AsyncIterable<AgentEvent>;

/**
 * An AgentRuntime that runs a function in this process. For tests only: it is never wired in
 * `main.ts` as a fake assistant.
 */
export class InProcessRuntime implements AgentRuntime {
  readonly requests: TurnRequest[] = [];
  constructor(private readonly agent: InProcessAgent) {}

  async *runTurn(request: TurnRequest): AsyncIterable<AgentEvent> {
    this.requests.push(request);
    const result = this.agent(request);
    if (Symbol.asyncIterator in result) {
      yield* result as AsyncIterable<AgentEvent>;
      return;
    }
    const texts = await result;
    const list = Array.isArray(texts) ? texts : [texts];
    for (const [i, text] of list.entries()) yield { type: "reply", text, final: i === list.length - 1 };
    yield { type: "turn_end", sessionId: `session-${request.chat.folder}`, usage: null };
  }

  async shutdown(): Promise<void> {}
}
