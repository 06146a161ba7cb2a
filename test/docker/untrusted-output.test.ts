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
process.stdin.on("data", (d) => {
  buf += d;
  for (let i; (i = buf.indexOf("\\n")) >= 0; ) {
    const line = buf.slice(0, i); buf = buf.slice(i + 1);
    const f = JSON.parse(line);
    if (f.type !== "turn") continue;
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
});
