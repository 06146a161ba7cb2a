/**
 * The descriptor flood of issue 8 against a running credential proxy, bench-style: FLOOD_TOTAL
 * (default 20,000) half-sent requests from loopback child processes, while a legitimate agent (another
 * source address) keeps calling the model and the host keeps making outbound calls. Prints JSON.
 *
 *   npm run attack:flood
 *   FLOOD_TOTAL=5000 FLOOD_PROCS=2 FLOOD_HOLD_MS=8000 npm run attack:flood
 *   FLOOD_ADDRESSES=32 npm run attack:flood     (32 colluding containers: the overall cap holds)
 *
 * Loopback only; every loop is bounded and every child stops by itself after FLOOD_HOLD_MS.
 */
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { CredentialProxy } from "../src/agents/credential-proxy.js";
import { silentLogger } from "../src/log.js";
import { recordingServer, send } from "../test/doubles/model-upstream.js";
import { startScriptedLlm } from "../test/doubles/scripted-llm.js";

const TOTAL = Number(process.env.FLOOD_TOTAL ?? 20_000);
const PROCS = Number(process.env.FLOOD_PROCS ?? 4);
const HOLD_MS = Number(process.env.FLOOD_HOLD_MS ?? 30_000);
/** Source addresses the flood comes from (127.0.1.x): 1 is one hostile container, more is a collusion. */
const ADDRESSES = Math.min(250, Number(process.env.FLOOD_ADDRESSES ?? 1));
const LEGIT_ADDRESS = "127.0.0.2";
const log = (s: string) => process.stderr.write(`[flood] ${s}\n`);

/** One flooder: N connections at once, half a request each, held until the proxy closes them or HOLD.
 * "closedWithin1s" counts connections closed less than a second after they connected. */
const FLOODER = `
const net = require("node:net");
const [port, n, hold] = [Number(process.env.PORT), Number(process.env.N), Number(process.env.HOLD)];
const addresses = Number(process.env.ADDRESSES);
let connected = 0, closedWithin1s = 0, closedLater = 0, errors = 0, open = 0, left = n;
const sockets = [];
const report = () => {
  const stillOpen = sockets.filter((s) => !s.destroyed).length;
  for (const s of sockets) s.destroy();
  process.stdout.write(JSON.stringify({ attempted: n, connected, closedWithin1s, closedLater, errors, stillOpen }) + "\\n");
  process.exit(0);
};
const deadline = setTimeout(report, hold);
for (let i = 0; i < n; i++) {
  const s = net.connect({ port, host: "127.0.0.1", localAddress: "127.0.1." + ((i % addresses) + 1) });
  let t0 = 0;
  sockets.push(s);
  s.on("connect", () => { t0 = Date.now(); connected++; s.write("POST /model/chat/completions HTTP/1.1\\r\\nHost: x\\r\\n"); });
  s.on("error", () => errors++);
  s.resume();
  s.on("close", () => {
    if (t0 && Date.now() - t0 < 1000) closedWithin1s++; else closedLater++;
    if (--left === 0) { clearTimeout(deadline); report(); }
  });
}`;

type FlooderResult = {
  attempted: number;
  connected: number;
  closedWithin1s: number;
  closedLater: number;
  errors: number;
  stillOpen: number;
};

function flooder(port: number, n: number): Promise<FlooderResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["-e", FLOODER], {
      env: { PORT: String(port), N: String(n), HOLD: String(HOLD_MS), ADDRESSES: String(ADDRESSES) },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    const guard = setTimeout(() => child.kill("SIGKILL"), HOLD_MS + 30_000);
    child.on("exit", () => {
      clearTimeout(guard);
      try {
        resolve(JSON.parse(out.trim()) as FlooderResult);
      } catch {
        reject(new Error(`flooder ${child.pid} printed no result`));
      }
    });
  });
}

const fds = () => readdirSync("/proc/self/fd").length;
const fdLimit = () => /Max open files\s+(\d+)/.exec(readFileSync("/proc/self/limits", "utf8"))?.[1] ?? "?";
const quantile = (xs: number[], q: number) =>
  xs.length ? ([...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? 0) : null;
const round = (n: number | null) => (n === null ? null : Math.round(n * 10) / 10);

async function main() {
  const llm = await startScriptedLlm({
    format: "openai",
    host: "127.0.0.1",
    respond: () => ({ text: "ok" }),
  });
  const platform = await recordingServer();
  const proxy = new CredentialProxy({
    model: { provider: "openai", name: "m", baseUrl: llm.url, apiKey: "sk-flood" },
    proxy: { httpProxy: null, httpsProxy: null, noProxy: [] },
    log: silentLogger(),
    host: "127.0.0.1",
  });
  const url = await proxy.listen();
  const token = proxy.issueToken("bench:legit");
  proxy.bindToken(token, LEGIT_ADDRESS);
  const legit = async () => {
    const t = performance.now();
    const res = await send(`${url}/chat/completions`, {
      // A new connection each time (a container's first call), never a warm keep-alive socket.
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json", connection: "close" },
      body: JSON.stringify({ model: "m", messages: [{ role: "user", content: "hi" }] }),
      localAddress: LEGIT_ADDRESS,
    }).catch(() => null);
    return { ok: res?.status === 200, ms: performance.now() - t };
  };
  const outbound = () =>
    send(`${platform.origin}/bot/sendMessage`, { body: "{}", headers: { connection: "close" } })
      .then((r) => r.status === 200)
      .catch(() => false);

  const baseline = await legit();
  const before = fds();
  let peak = before;
  const legitMs: number[] = [];
  let legitOk = 0;
  let legitTried = 0;
  let outboundOk = 0;
  let outboundTried = 0;
  log(
    `fd limit ${fdLimit()}, ${TOTAL} half-sent requests from ${PROCS} processes and ${ADDRESSES} address(es), held up to ${HOLD_MS} ms`,
  );
  const t0 = performance.now();
  const floods = Array.from({ length: PROCS }, (_, i) =>
    flooder(proxy.port, Math.floor(TOTAL / PROCS) + (i < TOTAL % PROCS ? 1 : 0)),
  );
  let flooding = true;
  const all = Promise.all(floods).finally(() => {
    flooding = false;
  });
  const sampler = setInterval(() => (peak = Math.max(peak, fds())), 20);
  while (flooding) {
    const [l, o] = await Promise.all([legit(), outbound()]);
    legitTried += 1;
    outboundTried += 1;
    if (l.ok) {
      legitOk += 1;
      legitMs.push(l.ms);
    }
    if (o) outboundOk += 1;
    await new Promise((r) => setTimeout(r, 250));
  }
  const results = await all;
  const ms = performance.now() - t0;
  clearInterval(sampler);
  await new Promise((r) => setTimeout(r, 500));
  const sum = (k: keyof FlooderResult) => results.reduce((a, r) => a + r[k], 0);
  const report = {
    flood: {
      sourceAddresses: ADDRESSES,
      attempted: sum("attempted"),
      connected: sum("connected"),
      closedByProxyWithin1s: sum("closedWithin1s"),
      closedLater: sum("closedLater"),
      clientErrors: sum("errors"),
      stillOpenAtEnd: sum("stillOpen"),
      ms: Math.round(ms),
    },
    proxy: proxy.stats(),
    legitDuringFlood: {
      attempts: legitTried,
      answered: legitOk,
      latencyMs: {
        baseline: round(baseline.ms),
        p50: round(quantile(legitMs, 0.5)),
        max: round(quantile(legitMs, 1)),
      },
    },
    outboundDuringFlood: { attempts: outboundTried, ok: outboundOk },
    hostFds: { limit: fdLimit(), before, peak, after: fds() },
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  await proxy.close();
  await platform.close();
  await llm.close();
}

await main();
