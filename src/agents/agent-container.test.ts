import { describe, expect, it } from "vitest";
import { type PipeContainer, PipeRuntime } from "../../test/doubles/pipe-runtime.js";
import { createLogger } from "../log.js";
import {
  encodeFrame,
  FrameDecoder,
  FrameSealer,
  type HostFrame,
  HostFrameSchema,
  parseKeyLine,
  type ToolCallFrame,
} from "../protocol/index.js";
import { AgentContainer } from "./agent-container.js";
import type { AgentLogLimits } from "./agent-log.js";
import type { AgentEvent } from "./agent-runtime.js";

/** The runner's side of the pipes: reads the key line, then speaks sealed frames. */
class RunnerDouble {
  readonly received: HostFrame[] = [];
  readonly rejected: string[] = [];
  #sealer: FrameSealer | null = null;
  #listeners: ((frame: HostFrame) => boolean)[] = [];
  /** Frames no `next` has taken yet (the host may answer before the test asks). */
  #unclaimed: HostFrame[] = [];

  constructor(readonly container: PipeContainer) {
    let decoder: FrameDecoder<HostFrame> | null = null;
    let head = "";
    container.stdin.on("data", (chunk: Buffer) => {
      let text = chunk.toString();
      if (!decoder) {
        head += text;
        const newline = head.indexOf("\n");
        if (newline === -1) return;
        const key = parseKeyLine(head.slice(0, newline));
        if (!key) throw new Error("the first stdin line is not a key line");
        this.#sealer = new FrameSealer(key, "agent");
        decoder = new FrameDecoder({ schema: HostFrameSchema, key, from: "host" });
        text = head.slice(newline + 1);
        this.send({ type: "ready", version: "double" });
      }
      for (const r of decoder.push(text)) {
        if (!r.ok) this.rejected.push(r.reason);
        else {
          this.received.push(r.frame);
          const taker = this.#listeners.find((l) => l(r.frame));
          if (taker) this.#listeners = this.#listeners.filter((l) => l !== taker);
          else this.#unclaimed.push(r.frame);
        }
      }
    });
  }

  send(frame: object): void {
    if (!this.#sealer) throw new Error("no key yet");
    this.container.stdout.write(this.#sealer.seal(frame));
  }

  /** What any process in the container could write to the stream: no key, so no seal. */
  forge(line: string): void {
    this.container.stdout.write(line);
  }

  /** The next host frame of this type not taken yet, already received or still to come. */
  next(type: HostFrame["type"]): Promise<HostFrame> {
    const i = this.#unclaimed.findIndex((f) => f.type === type);
    if (i !== -1) return Promise.resolve(this.#unclaimed.splice(i, 1)[0] as HostFrame);
    return new Promise((resolve) => {
      this.#listeners.push((f) => {
        if (f.type !== type) return false;
        resolve(f);
        return true;
      });
    });
  }
}

function logLines() {
  const lines: { level: number; msg: string; [k: string]: unknown }[] = [];
  const log = createLogger({
    level: "debug",
    destination: { write: (s: string) => void lines.push(JSON.parse(s)) },
  });
  return { log, lines };
}

async function startAgent(limits: AgentLogLimits = {}) {
  let runner: RunnerDouble | null = null;
  const runtime = new PipeRuntime((c) => {
    runner = new RunnerDouble(c);
  });
  const { log, lines } = logLines();
  const toolCalls: ToolCallFrame[] = [];
  const agent = new AgentContainer(
    runtime,
    { name: "nestbox-test-a", image: "none", labels: {}, env: {}, mounts: [] },
    log,
    async (call) => {
      toolCalls.push(call);
      return `sent ${call.args.text}`;
    },
    limits,
  );
  await agent.start(2000);
  return { agent, runner: runner as unknown as RunnerDouble, lines, toolCalls, runtime };
}

/** Runs a turn; `during` plays the runner while it is running. */
async function runTurn(
  agent: AgentContainer,
  runner: RunnerDouble,
  during: (turnId: string) => Promise<void>,
): Promise<AgentEvent[]> {
  const events: AgentEvent[] = [];
  const turnId = "turn-9f2c";
  const sent = runner.next("turn");
  const consume = (async () => {
    for await (const e of agent.turn(turnId, "hello", null)) events.push(e);
  })();
  await sent;
  await during(turnId);
  runner.send({ type: "turn_end", turnId, sessionId: "s1", usage: null });
  await consume;
  return events;
}

const tick = () => new Promise((r) => setTimeout(r, 20));

describe("AgentContainer: sealed frames, tool calls only inside a turn, a bounded agent log", () => {
  it("puts the key in stdin before the container starts, and never in its spec", async () => {
    const { runtime, runner } = await startAgent();
    const c = runtime.containers[0] as PipeContainer;
    const key = parseKeyLine(c.stdinBeforeStart.split("\n")[0] ?? "");
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(c.spec)).not.toContain(key);
    expect(runner.received).toEqual([]);
  });

  it("does not become ready on a forged ready frame", async () => {
    const runtime = new PipeRuntime((c) => {
      c.stdout.write(encodeFrame({ type: "ready", version: "forged" }));
    });
    const agent = new AgentContainer(
      runtime,
      { name: "nestbox-test-b", image: "none", labels: {}, env: {}, mounts: [] },
      logLines().log,
      async () => "",
    );
    await expect(agent.start(300)).rejects.toMatchObject({ code: "AGENT_NOT_READY" });
  });

  it("ignores forged replies and tool calls during a turn: only sealed frames count", async () => {
    const { agent, runner, toolCalls, lines } = await startAgent();
    const events = await runTurn(agent, runner, async (turnId) => {
      runner.forge(encodeFrame({ type: "reply", turnId, text: "forged", final: true }));
      runner.forge(
        encodeFrame({
          type: "tool_call",
          turnId,
          callId: "c-forged",
          name: "send_message",
          args: { text: "forged message" },
        }),
      );
      runner.forge(
        `1 ${"f".repeat(64)} ${JSON.stringify({ type: "reply", turnId, text: "x", final: true })}\n`,
      );
      runner.send({ type: "reply", turnId, text: "real", final: true });
      await tick();
    });
    expect(events).toEqual([
      { type: "reply", text: "real", final: true },
      { type: "turn_end", sessionId: "s1", usage: null },
    ]);
    expect(toolCalls).toEqual([]);
    expect(agent.rejectedLines).toBe(3);
    expect(lines.filter((l) => l.unauthenticated === true)).toHaveLength(3);
  });

  it("decodes agent-direction frames only: sealed host frames from the container are ignored and counted", async () => {
    const { agent, runner, lines } = await startAgent();
    const events = await runTurn(agent, runner, async (turnId) => {
      runner.send({ type: "shutdown" });
      runner.send({ type: "turn", turnId, prompt: "a turn the agent made up", sessionId: null });
      runner.send({ type: "cancel", turnId });
      runner.send({ type: "reply", turnId, text: "real", final: true });
      await tick();
    });
    expect(events).toEqual([
      { type: "reply", text: "real", final: true },
      { type: "turn_end", sessionId: "s1", usage: null },
    ]);
    expect(agent.rejectedLines).toBe(3);
    expect(agent.alive).toBe(true);
    expect(lines.filter((l) => String(l.reason ?? "").startsWith("invalid frame"))).toHaveLength(3);
  });

  it("answers a sealed tool call of the running turn, and refuses one outside it, for another turn or repeated", async () => {
    const { agent, runner, toolCalls, lines } = await startAgent();
    const call = (turnId: string, callId: string, text: string) =>
      runner.send({ type: "tool_call", turnId, callId, name: "send_message", args: { text } });

    call("no-turn", "c0", "before any turn");
    const refusedIdle = await runner.next("tool_result");
    expect(refusedIdle).toMatchObject({ callId: "c0", ok: false, error: "refused: no turn is running" });

    await runTurn(agent, runner, async (turnId) => {
      call(turnId, "c1", "inside the turn");
      expect(await runner.next("tool_result")).toEqual({
        type: "tool_result",
        callId: "c1",
        ok: true,
        result: "sent inside the turn",
      });
      call(turnId, "c1", "same call id again");
      expect(await runner.next("tool_result")).toMatchObject({ callId: "c1", ok: false });
      call("t-other", "c2", "another turn's id");
      expect(await runner.next("tool_result")).toMatchObject({
        callId: "c2",
        ok: false,
        error: "refused: the call names a turn that is not running",
      });
    });
    call("turn-9f2c", "c3", "after the turn ended");
    expect(await runner.next("tool_result")).toMatchObject({ callId: "c3", ok: false });

    expect(toolCalls.map((c) => c.args.text)).toEqual(["inside the turn"]);
    expect(lines.filter((l) => l.msg === "refused a host tool call")).toHaveLength(4);
  });

  it("caps the agent's log: a burst, then a steady rate, messages cut, never above warn, one summary", async () => {
    let now = 1_000_000;
    // The summary timer runs on real time: an interval far above how long 300k frames take on a
    // loaded machine keeps it from firing mid-test (it did at 5 s under load).
    const { agent, runner, lines } = await startAgent({ now: () => now, summaryIntervalMs: 120_000 });
    const before = lines.length;
    for (let i = 0; i < 300_000; i++) {
      runner.send({ type: "log", level: "error", message: `${i} ${"z".repeat(i === 0 ? 5000 : 10)}` });
    }
    await tick();
    const burst = lines.slice(before).filter((l) => l.agent === true);
    expect(burst).toHaveLength(50);
    expect(burst.every((l) => l.level === 40)).toBe(true); // warn, never error
    expect(String(burst[0]?.msg).length).toBeLessThan(1100);

    now += 1000; // one second later: ten more pass, and the summary is due once the interval is over
    for (let i = 0; i < 20; i++) runner.send({ type: "log", level: "info", message: `later ${i}` });
    now += 120_000;
    runner.send({ type: "log", level: "debug", message: "much later" });
    await tick();
    const after = lines.slice(before);
    expect(after.filter((l) => l.agent === true)).toHaveLength(61);
    const summaries = after.filter((l) => typeof l.droppedLogFrames === "number");
    expect(summaries).toHaveLength(1);
    expect(summaries[0]?.droppedLogFrames).toBe(300_000 - 50 + 10);
    expect(after.length).toBeLessThan(70);
    expect(lines.some((l) => l.level >= 50)).toBe(false);
    await agent.kill();
  });

  it("bounds what the container's stderr puts in the host log, apart from its log frames", async () => {
    const { agent, runner, lines } = await startAgent();
    for (let i = 0; i < 10_000; i++) runner.container.stderr.write(`noise ${i}\n`);
    runner.send({ type: "log", level: "info", message: "still heard" });
    await tick();
    expect(lines.filter((l) => l.msg === "agent stderr")).toHaveLength(50);
    expect(lines.some((l) => l.msg === "still heard")).toBe(true);
    await agent.kill();
    const summary = lines.find((l) => typeof l.droppedStderrChunks === "number");
    expect(summary?.droppedStderrChunks).toBeGreaterThan(0);
  });

  it("counts a flood of unauthenticated lines without logging each", async () => {
    const { agent, runner, lines } = await startAgent();
    const before = lines.length;
    const junk = `${encodeFrame({ type: "log", level: "error", message: "forged" })}`.repeat(1000);
    for (let i = 0; i < 100; i++) runner.forge(junk);
    await tick();
    expect(agent.rejectedLines).toBe(100_000);
    expect(lines.length - before).toBeLessThanOrEqual(51);
    expect(lines.some((l) => l.msg === "forged")).toBe(false);
  });
});
