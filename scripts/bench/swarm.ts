// Bench section `swarm`: cold first reply and warm round trip with AGENT_RUNTIME=swarm (a service that
// dials home) against AGENT_RUNTIME=local (a container on attached stdio), in the same run, alternating.
import { execFileSync } from "node:child_process";
import { performance } from "node:perf_hooks";
import { startAgentHarness } from "../../test/docker/agent-harness.js";

/** Options for {@link measureSwarmVsLocal}. */
export interface SwarmBenchOptions {
  runs: number;
  warmTurns: number;
  coldStarts: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : (s[Math.floor((s.length - 1) / 2)] as number);
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (x: number) => Math.round(x * 10) / 10;

/** Makes the local daemon a one-node swarm when it is not in one; returns whether it did (leave after). */
function joinSwarm(): boolean {
  const state = execFileSync("docker", ["info", "--format", "{{.Swarm.LocalNodeState}}"], {
    encoding: "utf8",
  }).trim();
  if (state === "active") return false;
  execFileSync("docker", ["swarm", "init", "--advertise-addr", "127.0.0.1"], { stdio: "ignore" });
  return true;
}

async function oneRuntime(runtime: "local" | "swarm", run: number, o: SwarmBenchOptions) {
  const h = await startAgentHarness({
    runtime,
    chats: [
      { chatId: "local:warm", folder: "warm" },
      { chatId: "local:cold", folder: "cold" },
    ],
    installId: `bsw${process.pid}${runtime[0]}${run}`,
    respond: () => ({ text: "pong" }),
    proxyLimits: { rateBurst: 10_000, ratePerSecond: 10_000 },
  });
  try {
    await h.ask("local:warm", "warm up");
    const warm: number[] = [];
    for (let i = 0; i < o.warmTurns; i++) {
      const t = performance.now();
      const replies = await h.ask("local:warm", `ping ${i}`);
      warm.push(performance.now() - t);
      if (replies[0] !== "pong") throw new Error(`unexpected reply ${replies[0]}`);
    }
    const cold: number[] = [];
    for (let i = 0; i < o.coldStarts; i++) {
      const id = h.supervisor.containerOf("local:cold");
      if (id) await h.docker.remove(id);
      await sleep(500);
      const t = performance.now();
      const replies = await h.ask("local:cold", `cold ${i}`);
      cold.push(performance.now() - t);
      if (replies[0] !== "pong") throw new Error(`unexpected cold reply ${replies[0]}`);
    }
    return { warm, cold };
  } finally {
    await h.close();
  }
}

/** Medians per runtime over all runs, and swarm/local ratios. */
export async function measureSwarmVsLocal(o: SwarmBenchOptions) {
  const joined = joinSwarm();
  const samples = {
    local: { warm: [] as number[], cold: [] as number[] },
    swarm: { warm: [] as number[], cold: [] as number[] },
  };
  try {
    for (let run = 0; run < o.runs; run++) {
      for (const runtime of ["local", "swarm"] as const) {
        const r = await oneRuntime(runtime, run, o);
        samples[runtime].warm.push(...r.warm);
        samples[runtime].cold.push(...r.cold);
      }
    }
  } finally {
    if (joined) execFileSync("docker", ["swarm", "leave", "--force"], { stdio: "ignore" });
  }
  const figures = (s: { warm: number[]; cold: number[] }) => ({
    coldFirstReplyMs: { p50: round(median(s.cold)), n: s.cold.length },
    warmRoundTripMs: { p50: round(median(s.warm)), n: s.warm.length },
  });
  const local = figures(samples.local);
  const swarm = figures(samples.swarm);
  return {
    local,
    swarm,
    ratios: {
      coldSwarmVsLocal: round(swarm.coldFirstReplyMs.p50 / local.coldFirstReplyMs.p50),
      warmSwarmVsLocal: round(swarm.warmRoundTripMs.p50 / local.warmRoundTripMs.p50),
    },
    how: "the product's composition (test/docker/agent-harness.ts) per runtime, alternating local and swarm each run; cold = the chat's agent removed, then a message until its reply",
  };
}
