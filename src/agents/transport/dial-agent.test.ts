import { mkdtempSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { makeChat } from "../../../test/doubles/chat.js";
import { conformanceAgent, conformanceScript } from "../../../test/doubles/conformance-agent.js";
import { rawPeer, recordingDialTransport } from "../../../test/doubles/dial-peers.js";
import { type DialingRunner, runnerDialing } from "../../../test/doubles/dial-runner.js";
import { FakeAgent } from "../../../test/doubles/fake-agent.js";
import { PipeRuntime } from "../../../test/doubles/pipe-runtime.js";
import { noExtraMounts, specContext } from "../../../test/doubles/spec-context.js";
import { waitFor } from "../../../test/wait.js";
import { silentLogger } from "../../log.js";
import { AgentContainer, AgentCrashedError } from "../agent-container.js";
import type { AgentEvent } from "../agent-runtime.js";
import { AgentSupervisor } from "../supervisor.js";
import { DialServer } from "./dial/server.js";
import type { AgentTransport } from "./transport.js";

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function dialWorld(
  options: { resumeGraceMs?: number; script?: ConstructorParameters<typeof FakeAgent>[0] } = {},
) {
  const server = new DialServer({
    host: "127.0.0.1",
    port: 0,
    advertise: { host: "127.0.0.1" },
    log: silentLogger(),
    resumeGraceMs: options.resumeGraceMs ?? 20_000,
  });
  await server.listen();
  cleanup.push(() => server.close());
  const runners: DialingRunner[] = [];
  const runtime = new PipeRuntime(
    runnerDialing(() => new FakeAgent(options.script ?? conformanceScript), runners),
  );
  // The host side's sessions, to cut their connections as a broken network would.
  const { transport, sessions } = recordingDialTransport(server);
  return { server, runtime, transport, runners, sessions };
}

describe("AgentContainer over the dial transport", () => {
  it("a link that does not come back is a crash: the container is killed and the error says the connection was lost", async () => {
    const { runtime, transport, runners } = await dialWorld({ resumeGraceMs: 200 });
    const spec = { name: "nestbox-lost", image: "none", labels: {}, env: {}, mounts: [] };
    const agent = new AgentContainer(runtime, spec, silentLogger(), async () => "", {}, transport);
    cleanup.push(() => agent.kill());
    await agent.start(5000);
    const events: AgentEvent[] = [];
    const turn = (async () => {
      for await (const e of agent.turn("t-lost", "WAIT", null)) events.push(e);
    })();
    await new Promise((r) => setTimeout(r, 50));
    // The runner's side vanishes without its process exiting (a partitioned node): nothing resumes.
    runners[0]?.host?.close();
    const error = await turn.then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AgentCrashedError);
    expect((error as AgentCrashedError).message).toMatch(
      /connection to the agent was lost .*did not reconnect within 200 ms/,
    );
    await waitFor(() => runtime.calls.includes(`kill ${agent.id}`), "the container killed");
    expect(agent.alive).toBe(false);
  });

  it("the host cuts the connection mid-turn, twice: the turn completes with every reply once and the tool call once", async () => {
    const { runtime, transport, sessions } = await dialWorld({
      script: async (_frame, sink, signal) => {
        for (let i = 1; i <= 50; i++) sink.reply(`part ${i}`, false);
        const r = await sink.callHostTool("send_message", { text: "mid-turn" }, signal);
        for (let i = 51; i <= 100; i++) sink.reply(`part ${i}`, false);
        sink.reply(`done: ${r.result}`, true);
      },
    });
    const calls: string[] = [];
    const spec = { name: "nestbox-cut", image: "none", labels: {}, env: {}, mounts: [] };
    const agent = new AgentContainer(
      runtime,
      spec,
      silentLogger(),
      async (call) => {
        calls.push(String(call.args.text));
        sessions[0]?.dropConnection(); // the answer is written while the link is down
        return "sent";
      },
      {},
      transport,
    );
    cleanup.push(() => agent.kill());
    await agent.start(5000);
    const texts: string[] = [];
    for await (const e of agent.turn("t-cut", "go", null)) {
      if (e.type === "reply") {
        texts.push(e.text);
        if (texts.length === 10) sessions[0]?.dropConnection();
      }
    }
    expect(texts).toEqual([...Array.from({ length: 100 }, (_, i) => `part ${i + 1}`), "done: sent"]);
    expect(calls).toEqual(["mid-turn"]);
    expect(agent.rejectedLines).toBe(0);
  });
});

describe("AgentSupervisor over the dial transport", () => {
  const chat = makeChat({
    chatId: "local:a",
    channel: "terminal",
    name: "A",
    folder: "a",
    requiresTrigger: false,
  });

  function supervisor(
    runtime: PipeRuntime,
    transport: AgentTransport,
    revoked: string[],
    bound: string[] = [],
  ) {
    const base = realpathSync(mkdtempSync(path.join(tmpdir(), "nestbox-dial-sup-")));
    cleanup.push(() => rmSync(base, { recursive: true, force: true }));
    const s = new AgentSupervisor({
      runtime,
      transport,
      spec: specContext(path.join(base, "data"), {
        user: `${process.getuid?.() ?? 1000}:${process.getgid?.() ?? 1000}`,
      }),
      tokens: {
        issueToken: () => "tok",
        revokeToken: (t) => void revoked.push(t),
        bindToken: (t) => void bound.push(t),
      },
      mountPolicy: noExtraMounts(base),
      log: silentLogger(),
      idleTimeoutMs: 60_000,
      turnTimeoutMs: 10_000,
      maxAttempts: 1,
    });
    cleanup.push(() => s.shutdown());
    return s;
  }

  const ask = async (s: AgentSupervisor, prompt: string) => {
    const texts: string[] = [];
    for await (const e of s.runTurn({
      chat,
      prompt,
      sessionId: null,
      signal: new AbortController().signal,
      onToolCall: async () => "ok",
    }))
      if (e.type === "reply") texts.push(e.text);
    return texts;
  };

  it("answers a turn, and revokes the ticket when the agent is stopped: its token is then refused", async () => {
    const { server, runtime, transport } = await dialWorld();
    const revoked: string[] = [];
    const s = supervisor(runtime, transport, revoked);
    expect(await ask(s, "hello")).toEqual(["hi there"]);
    const token = runtime.containers[0]?.spec.env.NESTBOX_DIAL_TOKEN as string;
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    await s.shutdown();
    expect(revoked).toEqual(["tok"]);
    const peer = rawPeer(server.port);
    peer.send(`hello ${token}\n`);
    expect(await peer.firstLine()).toBe("refused unknown token");
  });

  it("refuses a start whose agent dialled in from another address than the container's", async () => {
    const { runtime, transport } = await dialWorld();
    runtime.containerAddress = async () => "10.9.9.9";
    const bound: string[] = [];
    const s = supervisor(runtime, transport, [], bound);
    await expect(ask(s, "hello")).rejects.toMatchObject({
      code: "AGENT_START_FAILED",
      message: expect.stringMatching(/dialled in from 127\.0\.0\.1, not from its address 10\.9\.9\.9/),
    });
    expect(runtime.calls).toContain("remove pipe-1");
    expect(bound).toEqual([]); // the model token was never bound, so no model call can be made
  });

  it("a conformance agent through the default attach transport still works (no transport given)", async () => {
    const { runnerInPipes } = await import("../../../test/doubles/pipe-runtime.js");
    const runtime = new PipeRuntime(runnerInPipes(conformanceAgent));
    const base = realpathSync(mkdtempSync(path.join(tmpdir(), "nestbox-attach-sup-")));
    cleanup.push(() => rmSync(base, { recursive: true, force: true }));
    const s = new AgentSupervisor({
      runtime,
      spec: specContext(path.join(base, "data"), {
        user: `${process.getuid?.() ?? 1000}:${process.getgid?.() ?? 1000}`,
      }),
      tokens: { issueToken: () => "tok", revokeToken: () => {}, bindToken: () => {} },
      mountPolicy: noExtraMounts(base),
      log: silentLogger(),
      idleTimeoutMs: 60_000,
      turnTimeoutMs: 10_000,
    });
    cleanup.push(() => s.shutdown());
    expect(await ask(s, "hello")).toEqual(["hi there"]);
    expect(runtime.containers[0]?.spec.env.NESTBOX_DIAL_TOKEN).toBeUndefined();
  });
});
