// The 100-chat scale bench: N registered chats with a warm agent each, through the product's own
// composition (startAgentHarness -> createNestbox), on the real Docker daemon. Per-agent idle memory
// from the engine's stats, host RSS growth per chat, and a burst of one message in every chat at once.
import { execFile } from "node:child_process";
import { freemem, totalmem } from "node:os";
import { performance } from "node:perf_hooks";
import { promisify } from "node:util";
import { startAgentHarness } from "../../test/docker/agent-harness.js";

const run = promisify(execFile);

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
};
const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;
/** This process's RSS after a full collection when the bench runs with --expose-gc (npm run bench does). */
const rssMb = () => {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().rss / 2 ** 20;
};
const heapMb = () => process.memoryUsage().heapUsed / 2 ** 20;
const log = (s: string) => process.stderr.write(`[bench scale] ${s}\n`);

/** MiB from docker stats' "12.3MiB / 512MiB" usage column. */
function usageMb(text: string): number {
  const m = /^([\d.]+)\s*([KMG]i?B|B)/.exec(text.trim());
  if (!m) return Number.NaN;
  const unit = (m[2] as string)[0];
  const n = Number(m[1]);
  return unit === "G" ? n * 1024 : unit === "K" ? n / 1024 : unit === "B" ? n / 2 ** 20 : n;
}

/** Memory of each running container of an install, from one `docker stats` sample. */
async function agentMemory(installId: string): Promise<number[]> {
  const { stdout: ids } = await run("docker", ["ps", "-q", "--filter", `label=nestbox.install=${installId}`]);
  const list = ids.split("\n").filter(Boolean);
  if (list.length === 0) return [];
  const { stdout } = await run("docker", ["stats", "--no-stream", "--format", "{{.MemUsage}}", ...list], {
    maxBuffer: 16 * 2 ** 20,
  });
  return stdout.split("\n").filter(Boolean).map(usageMb);
}

/** The agents' network size: how many addresses its subnet has for containers. */
async function subnetCapacity(installId: string): Promise<{ subnet: string; addresses: number } | null> {
  try {
    const { stdout } = await run("docker", [
      "network",
      "inspect",
      `nestbox-${installId}`,
      "--format",
      "{{range .IPAM.Config}}{{.Subnet}} {{end}}",
    ]);
    const subnet = stdout.trim().split(" ")[0] ?? "";
    const bits = Number(subnet.split("/")[1]);
    return Number.isFinite(bits) ? { subnet, addresses: 2 ** (32 - bits) - 3 } : null;
  } catch {
    return null;
  }
}

export interface ScaleOptions {
  chats: number;
  maxConcurrentAgents: number;
}

/** One scale run: warm N agents, sample their memory, then one message in every chat at once. */
export async function measureScale(o: ScaleOptions) {
  const chats = Array.from({ length: o.chats }, (_, i) => ({ chatId: `local:c${i}`, folder: `c${i}` }));
  const installId = `scale${process.pid}c${o.maxConcurrentAgents}`;
  const rssBefore = rssMb();
  const freeBefore = freemem() / 2 ** 20;
  const h = await startAgentHarness({
    chats,
    installId,
    respond: () => ({ text: "pong" }),
    maxConcurrentAgents: o.maxConcurrentAgents,
    agentMemoryMb: 256,
    proxyLimits: { rateBurst: 100_000, ratePerSecond: 100_000 },
  });
  try {
    const rssStarted = rssMb();
    const heapStarted = heapMb();
    log(`warming ${o.chats} agents (${o.maxConcurrentAgents} at once)`);
    const warmStart = performance.now();
    await Promise.all(chats.map((c) => h.channel.receive(c.chatId, "warm up")));
    await h.pipeline.drain();
    const warmAllMs = performance.now() - warmStart;
    const warm = (await h.docker.list({ "nestbox.install": installId })).filter((c) => c.running).length;
    await new Promise((r) => setTimeout(r, 5_000));
    const memory = await agentMemory(installId);
    const rssWarm = rssMb();
    const heapWarm = heapMb();
    const freeWarm = freemem() / 2 ** 20;
    log(`burst: one message in each of ${o.chats} chats at once`);
    let seen = h.channel.sent.length;
    const answeredAt = new Map<string, number>();
    // Each chat's reply time: when its reply is first seen (sampled every 2 ms while the burst runs).
    const watch = setInterval(() => {
      const now = performance.now();
      for (const s of h.channel.sent.slice(seen))
        if (!answeredAt.has(s.chatId)) answeredAt.set(s.chatId, now);
      seen = h.channel.sent.length;
    }, 2);
    const t0 = performance.now();
    await Promise.all(chats.map((c) => h.channel.receive(c.chatId, "burst")));
    await h.pipeline.drain();
    clearInterval(watch);
    const now = performance.now();
    for (const s of h.channel.sent.slice(seen)) if (!answeredAt.has(s.chatId)) answeredAt.set(s.chatId, now);
    const allMs = now - t0;
    const replyMs = [...answeredAt.values()].map((at) => at - t0);
    const net = await subnetCapacity(installId);
    return {
      chats: o.chats,
      maxConcurrentAgents: o.maxConcurrentAgents,
      warmAgents: warm,
      warmUpAllMs: Math.round(warmAllMs),
      agentIdleMemoryMb: {
        p50: round(quantile(memory, 0.5)),
        max: round(Math.max(...memory)),
        sampled: memory.length,
        target: "<= 60",
      },
      hostRssMb: {
        beforeStart: round(rssBefore),
        started: round(rssStarted),
        allWarm: round(rssWarm),
        perWarmChat: round((rssWarm - rssStarted) / o.chats, 2),
        heapUsedPerWarmChat: round((heapWarm - heapStarted) / o.chats, 3),
      },
      // What this machine would hold: its free memory over what one warm agent took from it.
      maxWarmAgents: {
        byMemory: Math.floor(freeBefore / ((freeBefore - freeWarm) / o.chats)),
        byNetwork: net?.addresses ?? null,
        machineFreeMbBefore: Math.round(freeBefore),
        machineMbPerAgent: round((freeBefore - freeWarm) / o.chats),
      },
      burst: {
        answered: answeredAt.size,
        replyMs: { p50: Math.round(quantile(replyMs, 0.5)), p99: Math.round(quantile(replyMs, 0.99)) },
        allRepliesMs: Math.round(allMs),
      },
      network: net,
      machine: { totalMemMb: Math.round(totalmem() / 2 ** 20), freeMemMb: Math.round(freemem() / 2 ** 20) },
    };
  } finally {
    await h.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const chats = Number(process.env.BENCH_SCALE_CHATS ?? 100);
  const result = [];
  for (const c of [5, 20]) result.push(await measureScale({ chats, maxConcurrentAgents: c }));
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}
