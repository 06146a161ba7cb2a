/**
 * nestbox benchmark (DESIGN section 10): the real host pipeline, supervisor and agent containers on
 * the real Docker daemon, against a scripted LLM with zero model latency. Prints JSON on stdout.
 *
 *   npm run bench                       (needs Docker and the agent image; see .ci/run)
 *   BENCH_RUNS=5 BENCH_TURNS=30 npm run bench
 *   BENCH_ONLY=scale BENCH_SCALE_CHATS=100 npm run bench     (sections: core, cold, memory, scale, restart, swarm)
 */
import { cpus, totalmem } from "node:os";
import { performance } from "node:perf_hooks";
import { DockerRuntime } from "../src/containers/docker-runtime.js";
import { startAgentHarness } from "../test/docker/agent-harness.js";
import { startScriptedLlm } from "../test/doubles/scripted-llm.js";
import { measureColdPhases, startBareContainer } from "./bench/cold.js";
import { measureBareNode, measureIdleTreeMedian } from "./bench/memory.js";
import { measureRestart } from "./bench/restart.js";
import { measureScale } from "./bench/scale.js";
import { measureSwarmVsLocal } from "./bench/swarm.js";

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const TURNS = Number(process.env.BENCH_TURNS ?? 20);
const COLD = Number(process.env.BENCH_COLD ?? 3);
const INBOUND = Number(process.env.BENCH_INBOUND ?? 5000);
const AGENT_IMAGE = process.env.NESTBOX_TEST_AGENT_IMAGE ?? "nestbox-agent:test";
const BASE_IMAGE = process.env.NESTBOX_TEST_BASE_IMAGE ?? "nestbox-base:local";

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
};
const median = (xs: number[]) => quantile(xs, 0.5);
const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (s: string) => process.stderr.write(`[bench] ${s}\n`);

/** Baselines in the same run: a bare container's JSON line round trip and start, a bare LLM request. */
async function baselines() {
  const rt = new DockerRuntime();
  const starts: number[] = [];
  const trips: number[] = [];
  for (let i = 0; i < COLD; i++) {
    const { id, io, echo, startMs } = await startBareContainer(
      rt,
      `nestbox-bench-baseline-${process.pid}-${i}`,
      BASE_IMAGE,
    );
    starts.push(startMs);
    for (let j = 0; j < TURNS; j++) {
      const first = echo();
      const t = performance.now();
      io.stdin.write('{"type":"ping"}\n');
      await first;
      trips.push(performance.now() - t);
    }
    io.close();
    await rt.remove(id);
  }
  const llm = await startScriptedLlm({
    format: "openai",
    host: "127.0.0.1",
    respond: () => ({ text: "ok" }),
  });
  const calls: number[] = [];
  for (let i = 0; i < TURNS; i++) {
    const t = performance.now();
    const res = await fetch(`${llm.url}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "m", stream: true, messages: [{ role: "user", content: "hi" }] }),
    });
    await res.text();
    calls.push(performance.now() - t);
  }
  await llm.close();
  return { containerStartMs: median(starts), attachRoundTripMs: median(trips), llmRequestMs: median(calls) };
}

/** One run: warm routing overhead and round trips, cold starts, inbound throughput. */
async function oneRun(run: number) {
  let sentAt = 0;
  let measuring = false;
  const routing: number[] = [];
  const h = await startAgentHarness({
    chats: [
      { chatId: "local:bench", folder: "bench", isMain: true },
      { chatId: "local:cold", folder: "cold" },
    ],
    installId: `bench${process.pid}r${run}`,
    respond: () => ({ text: "pong" }),
    // One agent driven back to back, far faster than a chat: the per-token rate cap (an abuse limit)
    // must not throttle what is being measured.
    proxyLimits: { rateBurst: 10_000, ratePerSecond: 10_000 },
    onTurnSent: (chatId) => {
      if (measuring && chatId === "local:bench") routing.push(performance.now() - sentAt);
    },
  });
  try {
    await h.ask("local:bench", "warm up");
    measuring = true;
    const roundTrips: number[] = [];
    for (let i = 0; i < TURNS; i++) {
      sentAt = performance.now();
      const replies = await h.ask("local:bench", `ping ${i}`);
      roundTrips.push(performance.now() - sentAt);
      if (replies[0] !== "pong") throw new Error(`unexpected reply ${replies[0]}`);
    }
    measuring = false;
    const cold: number[] = [];
    for (let i = 0; i < COLD; i++) {
      const id = h.supervisor.containerOf("local:cold");
      if (id) await h.docker.remove(id);
      await sleep(300);
      const t = performance.now();
      const replies = await h.ask("local:cold", `cold ${i}`);
      cold.push(performance.now() - t);
      if (replies[0] !== "pong") throw new Error(`unexpected cold reply ${replies[0]}`);
    }
    const t = performance.now();
    for (let i = 0; i < INBOUND; i++) {
      await h.channel.receive(i % 2 ? "local:stranger" : "local:cold", `chatter ${i}`, {
        mentionsAssistant: false,
      });
    }
    const throughput = INBOUND / ((performance.now() - t) / 1000);
    return { routing, roundTrips, cold, throughput };
  } finally {
    await h.close();
  }
}

const ONLY = new Set(
  (process.env.BENCH_ONLY ?? "core,cold,memory,scale,restart,swarm").split(",").map((x) => x.trim()),
);

async function core() {
  log(`baselines (${COLD} containers, ${TURNS} round trips each)`);
  const base = await baselines();
  const runs: Awaited<ReturnType<typeof oneRun>>[] = [];
  for (let r = 0; r < RUNS; r++) {
    log(`run ${r + 1}/${RUNS}: ${TURNS} warm turns, ${COLD} cold starts, ${INBOUND} inbound messages`);
    runs.push(await oneRun(r));
  }
  const perRun = (f: (r: Awaited<ReturnType<typeof oneRun>>) => number) => runs.map(f);
  const routingP50 = median(perRun((r) => median(r.routing)));
  const routingP99 = median(perRun((r) => quantile(r.routing, 0.99)));
  const warmP50 = median(perRun((r) => median(r.roundTrips)));
  const warmP99 = median(perRun((r) => quantile(r.roundTrips, 0.99)));
  const coldP50 = median(perRun((r) => median(r.cold)));
  const throughput = median(perRun((r) => r.throughput));
  const coldRatio = coldP50 / base.containerStartMs;
  const warmRatio = warmP50 / (base.attachRoundTripMs + 2 * base.llmRequestMs);
  return {
    runs: RUNS,
    turnsPerRun: TURNS,
    routingOverheadMs: {
      p50: round(routingP50, 3),
      p99: round(routingP99, 3),
      target: "p50 <= 0.25, p99 <= 1",
    },
    warmRoundTripMs: { p50: round(warmP50), p99: round(warmP99) },
    coldStartMs: { p50: round(coldP50) },
    inboundThroughputPerSec: Math.round(throughput),
    baseline: {
      containerStartAndFirstEchoMs: round(base.containerStartMs),
      attachJsonRoundTripMs: round(base.attachRoundTripMs, 3),
      llmRequestMs: round(base.llmRequestMs, 3),
    },
    ratios: {
      coldStartVsBareContainerStart: { value: round(coldRatio), target: "<= 2.0" },
      warmRoundTripVsBareAttachPlusTwoLlmCalls: { value: round(warmRatio), target: "<= 1.2" },
    },
    meetsTargets: {
      routing: routingP50 <= 0.25 && routingP99 <= 1,
      cold: coldRatio <= 2,
      warm: warmRatio <= 1.2,
    },
  };
}

const result: Record<string, unknown> = {
  machine: { cpus: cpus().length, memMb: Math.round(totalmem() / 2 ** 20), node: process.version },
};
if (ONLY.has("core")) result.core = await core();
if (ONLY.has("memory")) {
  log("memory: the whole npm start process tree, idle (Telegram + terminal; WhatsApp linked)");
  const runs = Number(process.env.BENCH_MEMORY_RUNS ?? 3);
  const floor = await measureBareNode();
  const summary = (m: Awaited<ReturnType<typeof measureIdleTreeMedian>>) => ({
    rssMiB: m.medianRssMiB,
    pssMiB: m.medianPssMiB,
    processes: m.samples[0]?.processes.map((p) => ({ comm: p.comm, rssMiB: p.rssMiB, pssMiB: p.pssMiB })),
  });
  result.memory = {
    bareNode: { rssMiB: floor.totalRssMiB, pssMiB: floor.totalPssMiB },
    telegramAndTerminal: { ...summary(await measureIdleTreeMedian(runs)), target: "<= 90" },
    whatsappLinked: { ...summary(await measureIdleTreeMedian(runs, { whatsapp: true })), target: "<= 100" },
    how: "npm start -- --terminal in the project, 10 s after the first getUpdates; VmRSS and PSS summed over the process tree",
  };
}
if (ONLY.has("cold")) {
  log("cold: phase by phase, and the pre-warm");
  result.cold = await measureColdPhases({
    runs: Number(process.env.BENCH_COLD_PHASES ?? 5),
    baseImage: BASE_IMAGE,
  });
}
if (ONLY.has("scale")) {
  const chats = Number(process.env.BENCH_SCALE_CHATS ?? 100);
  const scale = [];
  for (const c of [5, 20]) {
    log(`scale: ${chats} chats, MAX_CONCURRENT_AGENTS=${c}`);
    scale.push(await measureScale({ chats, maxConcurrentAgents: c }));
  }
  result.scale = scale;
}
if (ONLY.has("restart")) {
  log("restart: SIGKILL, a message while down, start again");
  result.restart = await measureRestart({
    chats: Number(process.env.BENCH_RESTART_CHATS ?? 50),
    agentImage: AGENT_IMAGE,
    restarts: Number(process.env.BENCH_RESTARTS ?? 3),
  });
}
if (ONLY.has("swarm")) {
  log("swarm: cold first reply and warm round trip, AGENT_RUNTIME=swarm vs local, same run");
  result.swarm = await measureSwarmVsLocal({
    runs: Number(process.env.BENCH_SWARM_RUNS ?? 3),
    warmTurns: Number(process.env.BENCH_SWARM_TURNS ?? 20),
    coldStarts: Number(process.env.BENCH_SWARM_COLD ?? 3),
  });
}
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
