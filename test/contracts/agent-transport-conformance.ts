// What every host <-> agent transport must give AgentContainer, whatever carries the lines: a
// container becomes ready, a turn streams its replies and turn_end, a host tool call goes there and
// back, a crash is an AgentCrashedError, a stop ends the container and its ticket.
//
// The world's agent follows one script: prompt "hello" -> final reply "hi there"; a prompt holding
// SEND:{"text":"..."} -> a send_message host tool call with those args, then a final reply that
// quotes the tool's answer; prompt "WAIT" -> no answer for at least 30 s.
import { afterEach, expect, it } from "vitest";
import { AgentContainer, AgentCrashedError } from "../../src/agents/agent-container.js";
import type { AgentEvent } from "../../src/agents/agent-runtime.js";
import type { AgentTransport } from "../../src/agents/transport/transport.js";
import type { ContainerRuntime, ContainerSpec } from "../../src/containers/container-runtime.js";
import { silentLogger } from "../../src/log.js";
import type { ToolCallFrame } from "../../src/protocol/index.js";

/** One transport over one runtime, with an agent that follows the script above. */
export interface TransportWorld {
  runtime: ContainerRuntime;
  transport: AgentTransport;
  /** A fresh spec for one agent container (a new name each call). */
  spec(): ContainerSpec;
  /** Ends the agent's process abruptly, as a crash would. */
  crash(agent: AgentContainer): Promise<void>;
  readyTimeoutMs: number;
}

/** Runs one turn to its end; the events, or the error it threw. */
export async function runTurn(agent: AgentContainer, prompt: string, turnId = `t-${Date.now()}`) {
  const events: AgentEvent[] = [];
  try {
    for await (const e of agent.turn(turnId, prompt, null)) events.push(e);
    return { events, error: null };
  } catch (error) {
    return { events, error };
  }
}

/** Registers the conformance tests; `world` is read when each test runs (set it in beforeAll). */
export function agentTransportConformance(world: () => TransportWorld): void {
  const started: AgentContainer[] = [];
  const calls: ToolCallFrame[] = [];
  afterEach(async () => {
    await Promise.allSettled(started.splice(0).map((a) => a.kill()));
  });

  async function start(): Promise<AgentContainer> {
    const w = world();
    const agent = new AgentContainer(
      w.runtime,
      w.spec(),
      silentLogger(),
      async (call) => {
        calls.push(call);
        return `sent ${String(call.args.text)}`;
      },
      {},
      w.transport,
    );
    started.push(agent);
    await agent.start(w.readyTimeoutMs);
    return agent;
  }

  it("starts: the runner becomes ready over the transport", async () => {
    const agent = await start();
    expect(agent.alive).toBe(true);
    expect(agent.remoteAddress === null).toBe(world().transport.kind === "attach");
  });

  it("runs a turn: replies, then turn_end, and a second turn on the same container", async () => {
    const agent = await start();
    for (const id of ["turn-1", "turn-2"]) {
      const { events, error } = await runTurn(agent, "hello", id);
      expect(error).toBeNull();
      const replies = events.filter((e) => e.type === "reply");
      expect(replies.at(-1)).toEqual({ type: "reply", text: "hi there", final: true });
      expect(events.at(-1)?.type).toBe("turn_end");
    }
  });

  it("carries a host tool call there and back within the turn", async () => {
    const agent = await start();
    calls.length = 0;
    const { events, error } = await runTurn(agent, 'SEND:{"text":"on my way"}</');
    expect(error).toBeNull();
    expect(calls.map((c) => [c.name, c.args])).toEqual([["send_message", { text: "on my way" }]]);
    const last = events.filter((e) => e.type === "reply").at(-1);
    expect(last).toMatchObject({ final: true });
    expect(last?.type === "reply" && last.text).toContain("sent on my way");
  });

  it("reports a crash mid-turn as AgentCrashedError", async () => {
    const agent = await start();
    const turn = runTurn(agent, "WAIT");
    await new Promise((r) => setTimeout(r, 300));
    await world().crash(agent);
    const { error } = await turn;
    expect(error).toBeInstanceOf(AgentCrashedError);
    expect(agent.alive).toBe(false);
  });

  it("stops: the container ends and a new turn is refused as a crash", async () => {
    const agent = await start();
    await agent.stop(2);
    await agent.exited;
    expect(agent.alive).toBe(false);
    const { error } = await runTurn(agent, "hello");
    expect(error).toBeInstanceOf(AgentCrashedError);
  });
}
