import { afterAll, expect, it } from "vitest";
import { AgentContainer } from "../../src/agents/agent-container.js";
import type { AgentEvent } from "../../src/agents/runtime.js";
import { DockerRuntime } from "../../src/containers/docker-runtime.js";
import { silentLogger } from "../../src/log.js";
import { BASE_IMAGE, describeDocker } from "./support.js";

// A runner that misbehaves before behaving: garbage, an oversized line, a frame for another turn,
// an unknown frame type, then a proper answer.
const ROGUE = `
const out = (s) => process.stdout.write(s + "\\n");
out("Welcome to my shell!");
out(JSON.stringify({ type: "ready", version: "rogue" }));
process.stdin.setEncoding("utf8");
let buf = "";
let busy = false;
process.stdin.on("data", (d) => {
  buf += d;
  for (let i; (i = buf.indexOf("\\n")) >= 0; ) {
    const line = buf.slice(0, i); buf = buf.slice(i + 1);
    const f = JSON.parse(line);
    if (f.type !== "turn") continue;
    if (busy) { out(JSON.stringify({ type: "error", turnId: f.turnId, code: "busy", message: "a turn is running" })); continue; }
    if (f.prompt === "fail") {
      // Like the real runner: the error first, the turn_end a little later; busy until then.
      busy = true;
      out(JSON.stringify({ type: "error", turnId: f.turnId, code: "model_error", message: "the model said no" }));
      setTimeout(() => { busy = false; out(JSON.stringify({ type: "turn_end", turnId: f.turnId, sessionId: null, usage: null })); }, 300);
      continue;
    }
    out("{not json");
    out(JSON.stringify({ type: "reply", turnId: f.turnId, text: "x".repeat(2 * 1024 * 1024), final: false }));
    out(JSON.stringify({ type: "reply", turnId: "someone-else", text: "forged", final: true }));
    out(JSON.stringify({ type: "exec", command: "rm -rf /" }));
    out(JSON.stringify({ type: "reply", turnId: f.turnId, text: "the real answer", final: true }));
    out(JSON.stringify({ type: "turn_end", turnId: f.turnId, sessionId: "s1", usage: null }));
  }
});
`;

describeDocker("untrusted agent output is logged and ignored, never trusted", () => {
  const rt = new DockerRuntime();
  let agent: AgentContainer | null = null;
  afterAll(async () => {
    await agent?.kill();
  });

  it("yields only the valid frames of the running turn", async () => {
    agent = new AgentContainer(
      rt,
      {
        name: `nestbox-rogue-${Date.now().toString(36)}`,
        image: BASE_IMAGE,
        labels: { "nestbox.test": "rogue" },
        env: {},
        entrypoint: ["node", "-e", ROGUE],
        mounts: [],
        openStdin: true,
        init: true,
      },
      silentLogger(),
      async () => "unused",
    );
    await agent.start(30_000);
    const events: AgentEvent[] = [];
    for await (const e of agent.turn("t1", "hello", null)) events.push(e);
    expect(events).toEqual([
      { type: "reply", text: "the real answer", final: true },
      { type: "turn_end", sessionId: "s1", usage: null },
    ]);
  });

  it("raises a turn's error only once the runner has ended that turn, so the next turn is accepted", async () => {
    const failing = (async () => {
      for await (const _ of (agent as AgentContainer).turn("t2", "fail", null)) {
        // no events expected
      }
    })();
    await expect(failing).rejects.toMatchObject({ code: "model_error", message: "the model said no" });
    const events: AgentEvent[] = [];
    for await (const e of (agent as AgentContainer).turn("t3", "hello again", null)) events.push(e);
    expect(events.at(-1)).toEqual({ type: "turn_end", sessionId: "s1", usage: null });
  });
});
