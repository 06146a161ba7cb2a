// The transport conformance suite with the real agent image on the local Docker daemon, over both
// transports: attach (stdio), and dial (a container with no open stdin on its own bridge network,
// dialing the DialServer on that network's gateway). Then the dial link cut mid-turn from the host.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentContainer } from "../../src/agents/agent-container.js";
import { AttachTransport } from "../../src/agents/transport/attach.js";
import { DialTransport } from "../../src/agents/transport/dial/dial-transport.js";
import { DialServer } from "../../src/agents/transport/dial/server.js";
import type { AgentTransport } from "../../src/agents/transport/transport.js";
import type { ContainerSpec, NetworkInfo } from "../../src/containers/container-runtime.js";
import { DockerRuntime } from "../../src/containers/docker-runtime.js";
import { silentLogger } from "../../src/log.js";
import {
  agentTransportConformance,
  runTurn,
  type TransportWorld,
} from "../contracts/agent-transport-conformance.js";
import { recordingDialTransport } from "../doubles/dial-peers.js";
import { type ScriptedLlm, type ScriptedRequest, startScriptedLlm } from "../doubles/scripted-llm.js";
import { AGENT_IMAGE, describeDocker } from "./support.js";

const run = randomBytes(3).toString("hex");
const LABEL = { "nestbox.test": `transport-${run}` };

/**
 * The conformance script as a scripted model (see the suite), plus CUT: text, a tool call, then text;
 * ENV: a bash tool call that prints whether the tool sees NESTBOX_DIAL_TOKEN.
 */
async function respond(req: ScriptedRequest) {
  const messages = req.messages as { role: string; content: unknown }[];
  const last = messages.at(-1);
  if (last?.role === "tool") return { text: `tool said: ${JSON.stringify(last.content)}` };
  const text = (
    typeof last?.content === "string" ? last.content : JSON.stringify(last?.content ?? "")
  ).replace(/&quot;|\\"/g, '"');
  if (text.includes("WAIT")) {
    await new Promise((r) => setTimeout(r, 30_000));
    return { text: "too late" };
  }
  if (text.includes("ENV")) {
    return {
      toolCall: { name: "bash", arguments: { command: `echo TOKEN=\${NESTBOX_DIAL_TOKEN:-absent}` } },
    };
  }
  if (text.includes("CUT"))
    return { text: "part one", toolCall: { name: "send_message", arguments: { text: "mid" } } };
  const m = /SEND:(\{[^}]*\})/.exec(text);
  if (m?.[1]) return { toolCall: { name: "send_message", arguments: JSON.parse(m[1]) } };
  return { text: "hi there" };
}

/** Run inside a dial container as the agent's user: find the token, try to use it, try the runner's env. */
const MALLORY = `
const fs = require("node:fs");
const net = require("node:net");
const env = fs.readFileSync("/proc/1/environ", "latin1").split("\\0");
const initToken = (env.find((e) => e.startsWith("NESTBOX_DIAL_TOKEN=")) || "").slice(19);
const address = (env.find((e) => e.startsWith("NESTBOX_DIAL_ADDRESS=")) || "").slice(21);
let runnerEnviron = "not found";
for (const pid of fs.readdirSync("/proc").filter((p) => /^\\d+$/.test(p))) {
  let cmd = "";
  try { cmd = fs.readFileSync("/proc/" + pid + "/cmdline", "latin1"); } catch {}
  if (!cmd.includes("runner/main.js")) continue;
  try { runnerEnviron = fs.readFileSync("/proc/" + pid + "/environ", "latin1").includes("NESTBOX_DIAL_TOKEN") ? "readable, with token" : "readable"; }
  catch (e) { runnerEnviron = e.code; }
}
const ask = (line) => new Promise((resolve) => {
  const [host, port] = [address.slice(0, address.lastIndexOf(":")), Number(address.slice(address.lastIndexOf(":") + 1))];
  const s = net.connect({ host, port }, () => s.write(line + "\\n"));
  let got = "";
  s.on("data", (d) => { got += d; });
  s.on("close", () => resolve(got.split("\\n")[0]));
  s.on("error", () => resolve("error"));
  setTimeout(() => s.destroy(), 5000);
});
(async () => {
  const hello = await ask("hello " + initToken);
  const resume = await ask("resume " + "a".repeat(64) + " 0");
  const execEnvHasToken = process.env.NESTBOX_DIAL_TOKEN === initToken ? "yes" : "no";
  console.log(JSON.stringify({ initToken, runnerEnviron, execEnvHasToken, hello, resume }));
})();
`;

describeDocker("transport conformance on Docker with the real agent image", () => {
  const rt = new DockerRuntime();
  let llm: ScriptedLlm;
  let network: NetworkInfo;
  let server: DialServer;
  let gateway: string;

  beforeAll(async () => {
    network = await rt.ensureNetwork(`nestbox-transport-${run}`, { internal: false, labels: LABEL });
    gateway = network.gateway ?? "";
    expect(gateway).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    llm = await startScriptedLlm({ format: "openai", host: "0.0.0.0", respond });
    server = new DialServer({ host: gateway, port: 0, advertise: { host: gateway }, log: silentLogger() });
    await server.listen();
  });

  afterAll(async () => {
    for (const c of await rt.list(LABEL)) await rt.remove(c.id);
    await server?.close();
    await llm?.close();
    if (network) await rt.removeNetwork(network.name);
  });

  /** The agent's spec: the model straight at the scripted LLM; stdin open only for attach. */
  const spec = (attach: boolean) => (): ContainerSpec => ({
    name: `nestbox-tconf-${run}-${randomBytes(3).toString("hex")}`,
    image: AGENT_IMAGE,
    labels: LABEL,
    env: {
      NESTBOX_MODEL_PROVIDER: "openai",
      NESTBOX_MODEL: "scripted",
      NESTBOX_MODEL_BASE_URL: llm.urlFor(gateway),
      NESTBOX_MODEL_TOKEN: "not-a-secret",
      ASSISTANT_NAME: "Andy",
      TZ: "UTC",
      HOME: "/tmp/home",
      NO_PROXY: gateway,
      no_proxy: gateway,
    },
    mounts: [],
    network: network.name,
    init: true,
    capDrop: ["ALL"],
    securityOpt: ["no-new-privileges"],
    openStdin: attach,
  });

  const world = (transport: () => AgentTransport, attach: boolean): (() => TransportWorld) => {
    let w: TransportWorld | null = null;
    return () => {
      w ??= {
        runtime: rt,
        transport: transport(),
        spec: spec(attach),
        crash: async (agent) => rt.kill(agent.id, "SIGKILL"),
        readyTimeoutMs: 60_000,
      };
      return w;
    };
  };

  describe("attach", () => {
    agentTransportConformance(world(() => new AttachTransport(rt), true));
  });

  describe("dial (no stdin; the agent dials the gateway)", () => {
    agentTransportConformance(world(() => new DialTransport(server), false));

    it("the host destroys the connection mid-turn, twice: the turn completes with every reply exactly once", async () => {
      const { transport, sessions } = recordingDialTransport(server);
      const calls: string[] = [];
      const agent = new AgentContainer(
        rt,
        spec(false)(),
        silentLogger(),
        async (call) => {
          calls.push(String(call.args.text));
          sessions[0]?.dropConnection(); // the tool's answer is written while the link is down
          return "sent mid";
        },
        {},
        transport,
      );
      try {
        await agent.start(60_000);
        const before = llm.requests.length;
        const texts: string[] = [];
        const turn = agent.turn("t-cut", "CUT", null);
        for await (const e of turn) {
          if (e.type !== "reply") continue;
          texts.push(e.text);
          if (texts.length === 1) sessions[0]?.dropConnection(); // the tool call is in flight now
        }
        expect(texts).toHaveLength(2);
        expect(texts[0]).toBe("part one");
        expect(texts[1]).toMatch(/^tool said: .*sent mid/);
        expect(calls).toEqual(["mid"]);
        expect(llm.requests.length - before).toBe(2); // the turn ran once: resumed, not retried
        expect(agent.alive).toBe(true);
        expect(agent.rejectedLines).toBe(0);
        // What the supervisor checks before binding tokens: the link comes from the container itself.
        expect(agent.remoteAddress).toBe(await rt.containerAddress(agent.id, network.name));
        const { events } = await runTurn(agent, "hello");
        expect(events.find((e) => e.type === "reply")).toMatchObject({ text: "hi there" });
      } finally {
        await agent.kill();
      }
    });

    it("a process in the container finds the token where init keeps it, but it is spent; the runner's copy is out of reach", async () => {
      const agent = new AgentContainer(
        rt,
        spec(false)(),
        silentLogger(),
        async () => "",
        {},
        new DialTransport(server),
      );
      try {
        await agent.start(60_000);
        // Not execFileSync: the DialServer answering the peer runs in this process's event loop.
        const { stdout: out } = await promisify(execFile)(
          "docker",
          ["exec", "-u", "agent", agent.id, "node", "-e", MALLORY],
          { encoding: "utf8", timeout: 30_000 },
        );
        const report = JSON.parse(out.trim().split("\n").at(-1) as string) as Record<string, string>;
        expect(report.initToken).toMatch(/^[0-9a-f]{64}$/); // docker-init (PID 1) holds the configured env
        expect(report.runnerEnviron).toMatch(/EACCES|EPERM/); // the runner is non-dumpable
        // docker exec gets the configured env too: whoever holds the token, it was spent by the runner's hello.
        expect(report.execEnvHasToken).toBe("yes");
        expect(report.hello).toBe("refused unknown token");
        expect(report.resume).toBe("refused unknown secret");
        // A tool the runner starts does not inherit the token: the runner removed it first.
        const { events } = await runTurn(agent, "ENV");
        const said = events.filter((e) => e.type === "reply").at(-1);
        expect(said?.type === "reply" && said.text).toContain("TOKEN=absent");
      } finally {
        await agent.kill();
      }
    });

    it("a runner whose host is gone for good exits 3 (it never outlives its host)", async () => {
      const own = new DialServer({
        host: gateway,
        port: 0,
        advertise: { host: gateway },
        log: silentLogger(),
      });
      await own.listen();
      const agent = new AgentContainer(
        rt,
        spec(false)(),
        silentLogger(),
        async () => "",
        {},
        new DialTransport(own),
      );
      try {
        await agent.start(60_000);
        const t0 = Date.now();
        await own.close();
        expect(await agent.exited).toBe(3);
        const took = Date.now() - t0;
        expect(took).toBeGreaterThan(15_000);
        expect(took).toBeLessThan(40_000);
      } finally {
        await agent.kill();
      }
    });
  });
});
