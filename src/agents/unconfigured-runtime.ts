import { AgentError } from "../errors.js";
import type { AgentEvent, AgentRuntime } from "./runtime.js";

/** Stands in until an agent runtime exists: every turn fails with a message saying so. */
export class UnconfiguredRuntime implements AgentRuntime {
  constructor(private readonly reason: string) {}

  // biome-ignore lint/correctness/useYield: this runtime never produces events; it only explains why.
  async *runTurn(): AsyncIterable<AgentEvent> {
    throw new AgentError("NO_RUNTIME", this.reason);
  }

  async shutdown(): Promise<void> {}
}
