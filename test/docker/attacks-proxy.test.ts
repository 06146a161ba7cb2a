// Attacks on the credential proxy from inside a real agent container, as the agent's user, with the
// container's own token and base URL: key exfiltration, traversal, method abuse, the crash request and
// a descriptor flood. After each, another chat's turn must still be answered by the same host.
import { execFile } from "node:child_process";
import { readdirSync } from "node:fs";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { CredentialProxy } from "../../src/agents/credential-proxy.js";
import { silentLogger } from "../../src/log.js";
import { type RecordingServer, recordingServer, send } from "../doubles/model-upstream.js";
import { type ScriptedLlm, startScriptedLlm } from "../doubles/scripted-llm.js";
import { type AgentHarness, SECRET, startAgentHarness } from "./agent-harness.js";
import { describeDocker } from "./support.js";

const run = promisify(execFile);
const FLOOD = Number(process.env.NESTBOX_TEST_FLOOD ?? 2_000);

/**
 * Runs in the container: sends each raw request (`{t: target, m: method, h: extra header lines}`) on
 * its own connection to the proxy named by BASE (default: the container's own), with TOKEN (default:
 * its own) in both token headers, and prints the status line of each answer.
 */
const RAW_ATTACKS = `
const net = require("node:net");
const base = new URL(process.env.BASE || process.env.NESTBOX_MODEL_BASE_URL);
const token = process.env.TOKEN || process.env.NESTBOX_MODEL_TOKEN;
const attacks = JSON.parse(process.env.ATTACKS);
(async () => {
  const out = [];
  for (const a of attacks) {
    out.push(await new Promise((resolve) => {
      const s = net.connect(Number(base.port), base.hostname);
      let text = "";
      const timer = setTimeout(() => { s.destroy(); resolve({ t: a.t, status: "timeout" }); }, 5000);
      s.on("connect", () => s.write((a.m || "POST") + " " + a.t + " HTTP/1.1\\r\\nHost: " + base.host +
        "\\r\\nAuthorization: Bearer " + token + "\\r\\nx-api-key: " + token + "\\r\\n" + (a.h || "") +
        "Content-Type: application/json\\r\\nContent-Length: 2\\r\\nConnection: close\\r\\n\\r\\n{}"));
      s.on("data", (d) => (text += d));
      s.on("error", (e) => { clearTimeout(timer); resolve({ t: a.t, status: "error " + e.code }); });
      s.on("close", () => { clearTimeout(timer); resolve({ t: a.t, status: Number(text.slice(9, 12)) || 0, body: text.slice(0, 2000) }); });
    }));
  }
  console.log(JSON.stringify(out));
})();`;

/** Runs in the container: N half-sent requests at once; reports how the proxy treated them. */
const FLOOD_SCRIPT = `
const net = require("node:net");
const base = new URL(process.env.NESTBOX_MODEL_BASE_URL);
const n = Number(process.env.N);
const t0 = Date.now();
let connected = 0, closedFast = 0, closedByTimeout = 0, errors = 0, left = n;
const sockets = [];
const done = () => {
  for (const s of sockets) s.destroy();
  console.log(JSON.stringify({ attempted: n, connected, closedWithin1s: closedFast, closedLater: closedByTimeout, errors, stillOpen: left, ms: Date.now() - t0 }));
};
const deadline = setTimeout(done, 20000);
for (let i = 0; i < n; i++) {
  const s = net.connect(Number(base.port), base.hostname);
  sockets.push(s);
  let started = 0;
  s.on("connect", () => { started = Date.now(); connected++; s.write("POST /model/chat/completions HTTP/1.1\\r\\nHost: " + base.host + "\\r\\n"); });
  s.on("error", () => { errors++; });
  s.resume();
  s.on("close", () => {
    if (started && Date.now() - started < 1000) closedFast++; else closedByTimeout++;
    if (--left === 0) { clearTimeout(deadline); done(); }
  });
}`;

describeDocker("attacks on the credential proxy from inside an agent container", () => {
  let h: AgentHarness;
  let attacker: RecordingServer;
  let anthropicLlm: ScriptedLlm;
  let anthropicProxy: CredentialProxy;
  let anthropicToken: string;
  let container: string;
  let turns = 0;

  beforeAll(async () => {
    h = await startAgentHarness({
      chats: [
        { chatId: "local:mallory", folder: "mallory" },
        { chatId: "local:victim", folder: "victim" },
      ],
      respond: () => ({ text: `answer ${++turns}` }),
    });
    attacker = await recordingServer("127.0.0.1");
    // The path-less Anthropic case: a second gateway in front of an Anthropic-format model.
    anthropicLlm = await startScriptedLlm({
      format: "anthropic",
      host: "127.0.0.1",
      respond: () => ({ text: "x" }),
    });
    anthropicProxy = new CredentialProxy({
      model: { provider: "anthropic", name: "m", baseUrl: anthropicLlm.url, apiKey: SECRET },
      proxy: { httpProxy: null, httpsProxy: null, noProxy: [] },
      log: silentLogger(),
      host: h.gateway,
    });
    await anthropicProxy.listen();
    anthropicToken = anthropicProxy.issueToken("local:mallory");
    anthropicProxy.bindToken(anthropicToken, null);
    expect(await h.ask("local:mallory", "hi")).toHaveLength(1);
    const [c] = await h.containersOf("mallory");
    container = c?.id ?? "";
    expect(container).not.toBe("");
  });
  afterAll(async () => {
    await anthropicProxy?.close();
    await anthropicLlm?.close();
    await attacker?.close();
    await h?.close();
  });

  async function inContainer(script: string, env: Record<string, string>, timeout = 60_000) {
    const flags = Object.entries(env).flatMap(([k, v]) => ["-e", `${k}=${v}`]);
    const { stdout } = await run("docker", ["exec", ...flags, container, "node", "-e", script], { timeout });
    return JSON.parse(stdout.trim().split("\n").pop() ?? "null");
  }

  async function victimStillAnswered() {
    const [reply] = await h.ask("local:victim", "are you there?");
    expect(reply).toMatch(/^answer \d+$/);
  }

  it("the runner's own model call arrives with the real key and only allowlisted headers", () => {
    const headers = h.llm.requests[0]?.headers ?? {};
    process.stderr.write(
      `[attacks-proxy] runner headers upstream: ${Object.keys(headers).sort().join(", ")}\n`,
    );
    expect(headers.authorization).toBe(`Bearer ${SECRET}`);
    for (const name of Object.keys(headers)) {
      expect(name).toMatch(
        /^(accept|accept-encoding|accept-language|content-type|content-length|user-agent|host|connection|authorization|x-stainless-.+)$/,
      );
    }
  });

  it("cannot send the key to a host it names, with a path-less Anthropic or an OpenAI /v1 base URL", async () => {
    const llmBefore = h.llm.requests.length;
    const a = attacker.port;
    const targets = [
      `/model@127.0.0.1:${a}/v1/messages`,
      `/model:${a}/v1/messages`,
      `/model.localtest.me:${a}/v1/messages`,
      `/model@127.0.0.1:${a}/chat/completions`,
      `http://127.0.0.1:${a}/model/chat/completions`,
    ].map((t) => ({ t }));
    const anthropicBase = `http://host.docker.internal:${anthropicProxy.port}/model`;
    const results = [
      ...(await inContainer(RAW_ATTACKS, { ATTACKS: JSON.stringify(targets) })),
      ...(await inContainer(RAW_ATTACKS, {
        ATTACKS: JSON.stringify(targets),
        BASE: anthropicBase,
        TOKEN: anthropicToken,
      })),
    ];
    for (const r of results) {
      expect([400, 404], r.t).toContain(r.status);
      expect(r.body).not.toContain(SECRET);
    }
    expect(attacker.seen).toEqual([]);
    expect(anthropicLlm.requests).toEqual([]);
    expect(h.llm.requests.length).toBe(llmBefore);
    // The same container's legitimate call through the Anthropic gateway still works.
    const [ok] = await inContainer(RAW_ATTACKS, {
      ATTACKS: JSON.stringify([{ t: "/model/v1/messages", h: "anthropic-version: 2023-06-01\r\n" }]),
      BASE: anthropicBase,
      TOKEN: anthropicToken,
    });
    expect(ok.status).toBe(200);
    expect(anthropicLlm.requests.map((r) => r.path)).toEqual(["/v1/messages"]);
    await victimStillAnswered();
  });

  it("cannot reach other paths or methods of the model host", async () => {
    const llmBefore = h.llm.requests.length;
    const attacks = [
      { t: "/model/../../x" },
      { t: "/model/../api/pull" },
      { t: "/model/%2e%2e/%2e%2e/api/delete" },
      { t: "/model%2fx" },
      { t: "/modelXYZ" },
      { t: "//model/chat/completions" },
      { t: "/model/files", m: "GET" },
      { t: "/model/files/file-1", m: "DELETE" },
      { t: "/model/chat/completions", m: "GET" },
      { t: "/model/models", m: "DELETE" },
      { t: "/model/api/pull" },
    ];
    const results = await inContainer(RAW_ATTACKS, { ATTACKS: JSON.stringify(attacks) });
    expect(results.map((r: { status: number }) => r.status)).toEqual([
      400, 400, 400, 400, 404, 400, 404, 404, 405, 405, 404,
    ]);
    expect(h.llm.requests.length).toBe(llmBefore);
  });

  it("cannot crash the host with the invalid-URL request or malformed ones", async () => {
    const results = await inContainer(RAW_ATTACKS, {
      ATTACKS: JSON.stringify([
        { t: "/model.localtest.me:45035/x" },
        { t: "/model/chat/completions", h: `X-Big: ${"a".repeat(40_000)}\r\n` },
        { t: "/model/chat/completions", h: "Transfer-Encoding: chunked\r\n" },
      ]),
    });
    expect(results.map((r: { status: number }) => r.status)).toEqual([404, 431, 400]);
    await victimStillAnswered();
  });

  it(`${FLOOD} half-sent requests: the host's descriptors stay bounded and other chats are answered`, async () => {
    const fds = () => readdirSync("/proc/self/fd").length;
    const before = fds();
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, fds());
    }, 50);
    const platform = await recordingServer();
    try {
      const flood = inContainer(FLOOD_SCRIPT, { N: String(FLOOD) }, 120_000);
      await new Promise((r) => setTimeout(r, 1_000));
      const t0 = Date.now();
      await victimStillAnswered();
      const turnMs = Date.now() - t0;
      // An outbound send from the host (a platform API call) opens a new socket during the flood.
      const sent = await send(`${platform.origin}/sendMessage`, { body: "{}" });
      const result = await flood;
      clearInterval(sampler);
      const stats = h.proxy.stats();
      process.stderr.write(
        `[attacks-proxy] flood ${JSON.stringify({ result, stats, fds: { before, peak, after: fds() }, turnMs })}\n`,
      );
      expect(sent.status).toBe(200);
      expect(result.connected).toBeGreaterThan(0);
      expect(result.stillOpen).toBe(0);
      expect(stats.refusedPerAddress).toBeGreaterThanOrEqual(FLOOD - 16 - 10);
      expect(peak - before).toBeLessThan(100);
      await victimStillAnswered();
    } finally {
      clearInterval(sampler);
      await platform.close();
    }
  });
});
