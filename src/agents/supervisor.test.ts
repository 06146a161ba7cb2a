import { mkdtempSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeChat } from "../../test/doubles/chat.js";
import { FakeAgent, type TurnScript, untilAborted } from "../../test/doubles/fake-agent.js";
import { type PipeContainer, PipeRuntime, runnerInPipes } from "../../test/doubles/pipe-runtime.js";
import { noExtraMounts, specContext } from "../../test/doubles/spec-context.js";
import { waitFor } from "../../test/wait.js";
import { AgentError } from "../errors.js";
import { createLogger } from "../log.js";
import { SendMessageArgsSchema, type ToolCallFrame } from "../protocol/index.js";
import type { RegisteredChat } from "../registration/chat.js";
import type { AgentEvent } from "./agent-runtime.js";
import { AgentSupervisor, type SupervisorOptions } from "./supervisor.js";

let base: string;
beforeEach(() => {
  base = realpathSync(mkdtempSync(path.join(tmpdir(), "nestbox-supervisor-")));
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

const chat = (over: Partial<RegisteredChat> = {}): RegisteredChat =>
  makeChat({
    chatId: "local:a",
    channel: "terminal",
    name: "A",
    folder: "a",
    requiresTrigger: false,
    ...over,
  });

/**
 * A supervisor over PipeRuntime: each "container" runs the real runner serve loop with a FakeAgent
 * whose turns `scriptFor(container)` plays. Everything else (tokens, folders, logs) is recorded.
 */
function supervise(
  scriptFor: (container: PipeContainer, index: number) => TurnScript | "never-ready",
  over: Partial<SupervisorOptions> = {},
) {
  const agents: FakeAgent[] = [];
  const run = runnerInPipes((c) => {
    const script = scriptFor(c, agents.length);
    const agent = new FakeAgent(script === "never-ready" ? undefined : script);
    agents.push(agent);
    return agent;
  });
  let started = 0;
  const runtime = new PipeRuntime((c) => {
    // A container that dies before `ready`, as one whose runner cannot start.
    if (scriptFor(c, started++) === "never-ready") c.exit(1);
    else run(c);
  });
  const sent: { from: string; to: string; text: string }[] = [];
  const revoked: string[] = [];
  const lines: { msg: string; [k: string]: unknown }[] = [];
  let tokens = 0;
  const supervisor = new AgentSupervisor({
    runtime,
    spec: specContext(path.join(base, "data"), {
      user: `${process.getuid?.() ?? 1000}:${process.getgid?.() ?? 1000}`,
    }),
    tokens: {
      issueToken: () => `nbx-${++tokens}`,
      revokeToken: (token) => void revoked.push(token),
      bindToken: () => {},
    },
    mountPolicy: noExtraMounts(base),
    log: createLogger({
      level: "debug",
      destination: { write: (line: string) => void lines.push(JSON.parse(line)) },
    }),
    idleTimeoutMs: 60_000,
    turnTimeoutMs: 60_000,
    readyTimeoutMs: 2000,
    backoffMs: 1,
    ...over,
  });
  /** The turn's host tools: record the call; a chatId other than the turn's own chat is refused. */
  const onToolCall = (who: RegisteredChat) => async (call: ToolCallFrame) => {
    const args = SendMessageArgsSchema.parse(call.args);
    const to = args.chatId ?? who.chatId;
    if (to !== who.chatId) throw new Error(`the pipeline refused ${to}`);
    sent.push({ from: who.chatId, to, text: args.text });
    return `sent to ${to}`;
  };
  const turn = async (prompt = "hi", who = chat()) => {
    const events: AgentEvent[] = [];
    for await (const e of supervisor.runTurn({
      chat: who,
      prompt,
      sessionId: null,
      signal: new AbortController().signal,
      onToolCall: onToolCall(who),
    }))
      events.push(e);
    return events;
  };
  return { supervisor, runtime, agents, sent, revoked, lines, turn };
}

describe("AgentSupervisor over in-memory containers running the real runner loop", () => {
  it("runs turns through the runner: replies, then turn_end; the warm container serves the next turn", async () => {
    const s = supervise(() => async (frame, sink) => {
      sink.reply(`echo: ${frame.prompt}`, true);
      return { sessionId: "s-1", usage: { inputTokens: 4, outputTokens: 2 } };
    });
    expect(await s.turn("one")).toEqual([
      { type: "reply", text: "echo: one", final: true },
      { type: "turn_end", sessionId: "s-1", usage: { inputTokens: 4, outputTokens: 2 } },
    ]);
    expect((await s.turn("two"))[0]).toEqual({ type: "reply", text: "echo: two", final: true });
    expect(s.runtime.containers).toHaveLength(1);
    expect(s.agents[0]?.turns.map((t) => t.prompt)).toEqual(["one", "two"]);
    await s.supervisor.shutdown();
  });

  it("forwards the runner's tool calls to the running turn's host tools, and their refusals back", async () => {
    const answers: string[] = [];
    const script: TurnScript = async (_frame, sink, signal) => {
      for (const args of [{ text: "progress" }, { text: "psst", chatId: "local:b" }]) {
        const r = await sink.callHostTool("send_message", args, signal);
        answers.push(r.ok ? `ok: ${r.result}` : `refused: ${r.error}`);
      }
      sink.reply("done", true);
    };
    const s = supervise(() => script);
    await s.turn("go");
    expect(answers).toEqual(["ok: sent to local:a", "refused: the pipeline refused local:b"]);
    expect(s.sent).toEqual([{ from: "local:a", to: "local:a", text: "progress" }]);
    await s.supervisor.shutdown();
  });

  it("retries a turn whose container crashed before replying, after a backoff, in a fresh container", async () => {
    const s = supervise(
      (c, i) =>
        i === 0
          ? async (_frame, _sink, signal) => {
              c.exit(1);
              await untilAborted(signal);
            }
          : async (frame, sink) => sink.reply(`second try: ${frame.prompt}`, true),
      { backoffMs: 80 },
    );
    const t0 = Date.now();
    const events = await s.turn("hello");
    expect(Date.now() - t0).toBeGreaterThanOrEqual(75);
    expect(events[0]).toEqual({ type: "reply", text: "second try: hello", final: true });
    expect(s.runtime.containers).toHaveLength(2);
    expect(s.runtime.calls).toContain("remove pipe-1");
    expect(s.lines.some((l) => l.msg === "agent crashed mid-turn; retrying")).toBe(true);
    await s.supervisor.shutdown();
  });

  it("gives up after maxAttempts crashes, with backoff doubling, and tells the chat how often it crashed", async () => {
    const s = supervise((c) => async () => c.exit(1), { maxAttempts: 3, backoffMs: 40 });
    const t0 = Date.now();
    const err = await s.turn().catch((e: unknown) => e);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(40 + 80 - 5);
    expect(err).toBeInstanceOf(AgentError);
    expect(err).toMatchObject({ code: "AGENT_CRASHED" });
    expect((err as Error).message).toMatch(
      /^the agent crashed 3 time\(s\) \(the agent container exited with code 1/,
    );
    expect(s.runtime.containers).toHaveLength(3);
    expect(s.revoked).toEqual(["nbx-1", "nbx-2", "nbx-3"]);
  });

  it("retries a container that never becomes ready, then reports it", async () => {
    const s = supervise(() => "never-ready", { maxAttempts: 2 });
    await expect(s.turn()).rejects.toMatchObject({ code: "AGENT_CRASHED" });
    expect(s.runtime.containers).toHaveLength(2);
    expect(s.lines.filter((l) => l.msg === "agent failed to start; retrying")).toHaveLength(1);
  });

  it("does not retry a crash after a reply went out (the chat would get the answer twice)", async () => {
    const s = supervise((c) => async (_frame, sink) => {
      sink.reply("half an answer", false);
      await new Promise((r) => setTimeout(r, 20));
      c.exit(139);
    });
    const events: AgentEvent[] = [];
    const consume = async () => {
      for await (const e of s.supervisor.runTurn({
        chat: chat(),
        prompt: "x",
        sessionId: null,
        signal: new AbortController().signal,
        onToolCall: async () => "unused",
      }))
        events.push(e);
    };
    await expect(consume()).rejects.toMatchObject({
      code: "AGENT_CRASHED",
      message: /crashed 1 time\(s\).*code 139/,
    });
    expect(events).toEqual([{ type: "reply", text: "half an answer", final: false }]);
    expect(s.runtime.containers).toHaveLength(1);
  });

  it("kills the container of a turn that exceeds the turn timeout and says so; the next turn gets a new one", async () => {
    let n = 0;
    const s = supervise(
      () => async (frame, sink, signal) => {
        if (n++ === 0) await untilAborted(signal);
        sink.reply(`fresh: ${frame.prompt}`, true);
      },
      { turnTimeoutMs: 150 },
    );
    const err = await s.turn().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "TURN_TIMEOUT" });
    expect((err as Error).message).toMatch(
      /took longer than 0 s \(AGENT_TURN_TIMEOUT\), so the agent was stopped/,
    );
    expect(s.runtime.calls).toContain("kill pipe-1");
    expect(await s.runtime.wait("pipe-1")).toBe(137);
    expect((await s.turn("again"))[0]).toEqual({ type: "reply", text: "fresh: again", final: true });
    expect(s.runtime.containers).toHaveLength(2);
    await s.supervisor.shutdown();
  });

  it("stops an idle container gracefully after the idle timeout: shutdown frame, the runner closes its agent and exits 0", async () => {
    const s = supervise(() => async (_f, sink) => sink.reply("ok", true), { idleTimeoutMs: 100 });
    await s.turn();
    expect(s.supervisor.containerOf("local:a")).toBe("pipe-1");
    await waitFor(() => s.runtime.calls.includes("stop pipe-1"), "the idle stop");
    expect(await s.runtime.wait("pipe-1")).toBe(0);
    expect(s.agents[0]?.closed).toBe(true);
    expect(s.supervisor.containerOf("local:a")).toBeNull();
    expect(s.revoked).toEqual(["nbx-1"]);
    expect(s.lines.some((l) => l.msg === "agent idle; stopping its container")).toBe(true);
  });

  it("turns an error frame of the runner into the turn's error (with the protocol's code), keeping the container", async () => {
    const s = supervise(() => async (frame, sink) => {
      if (frame.prompt === "fail") sink.error("model_error", "the model said no");
      else sink.reply("fine", true);
    });
    await expect(s.turn("fail")).rejects.toMatchObject({ code: "model_error", message: "the model said no" });
    expect((await s.turn("ok"))[0]).toMatchObject({ text: "fine" });
    expect(s.runtime.containers).toHaveLength(1);
    await s.supervisor.shutdown();
  });

  it("shutdown stops every container through the runner and refuses new turns", async () => {
    const s = supervise(() => async (_f, sink) => sink.reply("ok", true));
    await s.turn("a");
    await s.turn("b", chat({ chatId: "local:b", folder: "b" }));
    await s.supervisor.shutdown();
    expect(await Promise.all([s.runtime.wait("pipe-1"), s.runtime.wait("pipe-2")])).toEqual([0, 0]);
    expect(s.agents.every((a) => a.closed)).toBe(true);
    await expect(s.turn("c")).rejects.toMatchObject({ code: "SHUTTING_DOWN" });
  });
});
