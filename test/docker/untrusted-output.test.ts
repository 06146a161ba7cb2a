import { afterAll, expect, it } from "vitest";
import { AgentContainer } from "../../src/agents/agent-container.js";
import type { AgentEvent } from "../../src/agents/agent-runtime.js";
import { DockerRuntime } from "../../src/containers/docker-runtime.js";
import { silentLogger } from "../../src/log.js";
import { BASE_IMAGE, describeDocker } from "./support.js";

// A runner that misbehaves before behaving: garbage, unsealed and replayed lines, an oversized line,
// a frame for another turn, an unknown frame type, then a proper answer. It implements the wire
// form (src/protocol/wire.ts) on its own, from the spec: key line first, then
// "<seq> <hmac-sha256 hex of from\nseq\njson> <json>" lines.
const ROGUE = `
const { createHmac } = require("node:crypto");
let key = null;
let seq = 0;
let lastLine = "";
const raw = (s) => process.stdout.write(s + "\\n");
const mac = (from, n, json) => createHmac("sha256", key).update(from + "\\n" + n + "\\n" + json).digest("hex");
const sealed = (frame) => { const json = JSON.stringify(frame); seq += 1; return seq + " " + mac("agent", seq, json) + " " + json; };
const out = (frame) => { lastLine = sealed(frame); raw(lastLine); };
raw("Welcome to my shell!");
process.stdin.setEncoding("utf8");
let buf = "";
let busy = false;
let hostSeq = 0;
process.stdin.on("data", (d) => {
  buf += d;
  for (let i; (i = buf.indexOf("\\n")) >= 0; ) {
    const line = buf.slice(0, i); buf = buf.slice(i + 1);
    if (key === null) {
      key = Buffer.from(line.slice(4), "hex");
      raw(JSON.stringify({ type: "ready", version: "unsealed" }));
      out({ type: "ready", version: "rogue" });
      continue;
    }
    const m = /^(\\d+) ([0-9a-f]{64}) (.*)$/.exec(line);
    if (!m || mac("host", m[1], m[3]) !== m[2] || Number(m[1]) <= hostSeq) { raw("bad host line"); continue; }
    hostSeq = Number(m[1]);
    const f = JSON.parse(m[3]);
    if (f.type !== "turn") continue;
    if (busy) { out({ type: "error", turnId: f.turnId, code: "busy", message: "a turn is running" }); continue; }
    if (f.prompt === "fail") {
      // Like the real runner: the error first, the turn_end a little later; busy until then.
      busy = true;
      out({ type: "error", turnId: f.turnId, code: "model_error", message: "the model said no" });
      setTimeout(() => { busy = false; out({ type: "turn_end", turnId: f.turnId, sessionId: null, usage: null }); }, 300);
      continue;
    }
    raw("{not json");
    raw(JSON.stringify({ type: "reply", turnId: f.turnId, text: "unsealed", final: true }));
    out({ type: "reply", turnId: f.turnId, text: "sealed once", final: false });
    raw(lastLine);
    out({ type: "reply", turnId: f.turnId, text: "x".repeat(2 * 1024 * 1024), final: false });
    out({ type: "reply", turnId: "someone-else", text: "forged", final: true });
    out({ type: "exec", command: "rm -rf /" });
    out({ type: "reply", turnId: f.turnId, text: "the real answer", final: true });
    out({ type: "turn_end", turnId: f.turnId, sessionId: "s1", usage: null });
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
      { type: "reply", text: "sealed once", final: false },
      { type: "reply", text: "the real answer", final: true },
      { type: "turn_end", sessionId: "s1", usage: null },
    ]);
    // Junk, the unsealed ready and reply, the replay, the oversized line, the other turn's reply and
    // the unknown type: ignored, each counted.
    expect(agent.rejectedLines).toBe(8);
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
