/**
 * Cold first reply, phase by phase (issue 13): the product's composition (startAgentHarness ->
 * createNestbox) on the real Docker daemon, a runtime wrapper timing the host's container calls and
 * the runner's startup marks (its `startup phases` log frame), beside a same-run bare container start
 * + first echo. Also measures how often the pre-warm on chat activity turns a cold reply warm.
 *
 *   npx tsx scripts/bench/cold.ts          (BENCH_COLD=7 BENCH_PREWARM_DELAYS=0,500,2000)
 */
import { performance } from "node:perf_hooks";
import type { ContainerRuntime } from "../../src/containers/container-runtime.js";
import { DockerRuntime } from "../../src/containers/docker-runtime.js";
import { createLogger } from "../../src/log.js";
import { startAgentHarness } from "../../test/docker/agent-harness.js";

/** Options for {@link measureColdPhases}. */
export interface ColdOptions {
  /** Cold starts measured (and bare containers for the baseline). */
  runs?: number;
  /** Image of the bare baseline container (any image with `cat`). */
  baseImage?: string;
  /** Pause between a non-triggering message and the trigger, per pre-warm trial. */
  prewarmDelaysMs?: number[];
  /** Pre-warm trials per delay. */
  prewarmTrials?: number;
}

const PREFIX = "startup phases ";
const median = (xs: number[]) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  return s.length ? (s[Math.floor(s.length / 2)] as number) : Number.NaN;
};
const round = (n: number) => Math.round(n * 10) / 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Host-side events of one container, in performance.now() of this process. */
type HostEvents = Record<string, number>;

/** Times create, attach, start and the address lookup (the token bind, right after `ready`). */
function timingRuntime(inner: ContainerRuntime, events: Map<string, HostEvents>): ContainerRuntime {
  const at = (id: string, name: string) => {
    const e = events.get(id) ?? {};
    e[name] ??= performance.now();
    events.set(id, e);
  };
  const own: Partial<ContainerRuntime> = {
    create: async (spec) => {
      const createCalled = performance.now();
      const id = await inner.create(spec);
      events.set(id, { createCalled, created: performance.now() });
      return id;
    },
    attach: async (id) => {
      const io = await inner.attach(id);
      at(id, "attached");
      return io;
    },
    start: async (id) => {
      await inner.start(id);
      at(id, "started");
    },
    containerAddress: async (id, network) => {
      at(id, "ready");
      const address = await inner.containerAddress(id, network);
      at(id, "bound");
      return address;
    },
  };
  // A Proxy, not a subclass: every other call goes to the real runtime unchanged.
  const wrapped = new Proxy(inner, {
    get: (target, prop, receiver) => {
      const mine = own[prop as keyof ContainerRuntime];
      if (mine) return mine;
      const value = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return wrapped;
}

/**
 * The bare floor: create, attach and start a container running `cat`, until its first echo.
 * Returns the container (to echo more lines through, then remove) and the time it took.
 */
export async function startBareContainer(rt: DockerRuntime, name: string, image: string) {
  const t0 = performance.now();
  const id = await rt.create({
    name,
    image,
    labels: { "nestbox.bench": "1" },
    env: {},
    mounts: [],
    cmd: ["cat"],
    openStdin: true,
    init: true,
  });
  const io = await rt.attach(id);
  const echo = () => new Promise<void>((resolve) => io.stdout.once("data", () => resolve()));
  await rt.start(id);
  const first = echo();
  io.stdin.write('{"type":"ping"}\n');
  await first;
  return { id, io, echo, startMs: performance.now() - t0 };
}

/** Bare baseline: `runs` bare container starts until the first echo. */
async function bareStarts(runs: number, image: string): Promise<number[]> {
  const rt = new DockerRuntime();
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const c = await startBareContainer(rt, `nestbox-bench-cold-bare-${process.pid}-${i}`, image);
    out.push(c.startMs);
    c.io.close();
    await rt.remove(c.id);
  }
  return out;
}

/** Medians of every phase of `runs` cold first replies, the baseline, the ratio, the pre-warm trials. */
export async function measureColdPhases(opts: ColdOptions = {}) {
  const runs = opts.runs ?? 5;
  const bare = await bareStarts(
    runs,
    opts.baseImage ?? process.env.NESTBOX_TEST_BASE_IMAGE ?? "nestbox-base:local",
  );
  const events = new Map<string, HostEvents>();
  const startups: { marks: Record<string, number>; codeCache?: string; pi?: string }[] = [];
  let turnSentAt = 0;
  const log = createLogger({
    level: "info",
    destination: {
      write(line: string) {
        const msg = (JSON.parse(line) as { msg?: string }).msg ?? "";
        if (msg.startsWith(PREFIX)) startups.push(JSON.parse(msg.slice(PREFIX.length)));
      },
    },
  });
  const h = await startAgentHarness({
    chats: [
      { chatId: "local:cold", folder: "cold" },
      { chatId: "local:group", folder: "group", requiresTrigger: true },
    ],
    installId: `cold${process.pid}`,
    respond: () => ({ text: "pong" }),
    log,
    wrapRuntime: (rt) => timingRuntime(rt, events),
    onTurnSent: () => {
      turnSentAt = performance.now();
    },
  });
  const phases: Record<string, number[]> = {};
  const add = (name: string, v: number | undefined) => {
    if (v === undefined || !Number.isFinite(v)) return;
    phases[name] ??= [];
    phases[name].push(v);
  };
  const cold: number[] = [];
  /** Every runner mark, ms since its process began (pi's own events included), per cold start. */
  const marksSeen: Record<string, number[]> = {};
  const caches: string[] = [];
  try {
    await h.ask("local:cold", "warm up the image cache");
    for (let i = 0; i < runs; i++) {
      const old = h.supervisor.containerOf("local:cold");
      if (old) await h.docker.remove(old);
      await sleep(500);
      const before = startups.length;
      const t0 = performance.now();
      const replies = await h.ask("local:cold", `cold ${i}`);
      const total = performance.now() - t0;
      if (replies[0] !== "pong") throw new Error(`unexpected cold reply ${replies[0]}`);
      cold.push(total);
      const id = h.supervisor.containerOf("local:cold") ?? "";
      const e = events.get(id) ?? {};
      for (let w = 0; w < 20 && startups.length === before; w++) await sleep(50);
      const s = startups[before];
      const m = s?.marks ?? {};
      caches.push(String(s?.codeCache ?? s?.pi ?? "?"));
      // The runner's clock starts with its process; anchor its readySent to the host's `ready`.
      const procStart =
        e.ready !== undefined && m.readySent !== undefined ? e.ready - m.readySent : undefined;
      const rel = (name: string) =>
        m[name] !== undefined && procStart !== undefined ? procStart + m[name] : undefined;
      add("host: message -> create called", (e.createCalled ?? Number.NaN) - t0);
      add("host: container create", (e.created ?? Number.NaN) - (e.createCalled ?? Number.NaN));
      add("host: attach", (e.attached ?? Number.NaN) - (e.created ?? Number.NaN));
      add("host: start call", (e.started ?? Number.NaN) - (e.attached ?? Number.NaN));
      add(
        "container: start returned -> node process start",
        procStart !== undefined ? procStart - (e.started ?? Number.NaN) : undefined,
      );
      add("runner: node boot + main.js loaded", m.mainStart);
      add("runner: key read", m.keyRead !== undefined ? m.keyRead - (m.mainStart ?? 0) : undefined);
      add("runner: ready sent (since process start)", m.readySent);
      add("host: ready -> token bound", (e.bound ?? Number.NaN) - (e.ready ?? Number.NaN));
      add("host: bound -> turn frame written", turnSentAt - (e.bound ?? Number.NaN));
      add(
        "runner: zod + serve loop loaded",
        m.serveLoaded !== undefined ? m.serveLoaded - (m.readySent ?? 0) : undefined,
      );
      add("runner: pi loaded", m.piLoaded !== undefined ? m.piLoaded - (m.readySent ?? 0) : undefined);
      const span = (from: string, to: string) =>
        m[from] !== undefined && m[to] !== undefined ? (m[to] as number) - (m[from] as number) : undefined;
      add("runner: agent.ts chunk loaded", span("piLoaded", "agentLoaded"));
      add("runner: pi auth + model registry", span("agentLoaded", "modelRegistryReady"));
      add("runner: model registered", span("modelRegistryReady", "skillsRead"));
      add("runner: skills read", span("skillsRead", "agentReady"));
      add("runner: turn frame written -> turn starts", (rel("turnStart") ?? Number.NaN) - turnSentAt);
      add(
        "runner: pi session creation (memory read)",
        (m.sessionReady ?? Number.NaN) - (m.turnStart ?? Number.NaN),
      );
      add("runner: first model call", (m.firstModelReply ?? Number.NaN) - (m.promptStart ?? Number.NaN));
      add("runner: turn done -> host has the reply", t0 + total - (rel("firstTurnDone") ?? Number.NaN));
      add("total: message -> reply", total);
      for (const [name, value] of Object.entries(m)) {
        marksSeen[name] ??= [];
        marksSeen[name].push(value);
      }
    }
    const warm: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      await h.ask("local:cold", `warm ${i}`);
      warm.push(performance.now() - t);
    }
    const prewarm = await prewarmTrials(h, opts, events, median(warm));
    const bareMs = median(bare);
    const coldMs = median(cold);
    return {
      runs,
      coldFirstReplyMs: round(coldMs),
      bareContainerStartAndFirstEchoMs: round(bareMs),
      ratio: round((coldMs / bareMs) * 100) / 100,
      target: "ratio <= 2.0",
      warmReplyMs: round(median(warm)),
      codeCache: caches,
      phasesMedianMs: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, round(median(v))])),
      runnerMarksMedianMs: Object.fromEntries(
        Object.entries(marksSeen)
          .map(([k, v]) => [k, round(median(v))] as const)
          .sort((a, b) => a[1] - b[1]),
      ),
      prewarm,
    };
  } finally {
    await h.close();
  }
}

type Harness = Awaited<ReturnType<typeof startAgentHarness>>;

/** A non-triggering message (pre-warms), then the trigger `delay` ms later: cold or warm reply? */
async function prewarmTrials(h: Harness, opts: ColdOptions, events: Map<string, HostEvents>, warmMs: number) {
  const delays = opts.prewarmDelaysMs ?? [0, 250, 500, 1000, 2000];
  const trials = opts.prewarmTrials ?? 3;
  const out: { delayMs: number; replyMs: number; readyBeforeTrigger: number; trials: number }[] = [];
  for (const delayMs of delays) {
    const replies: number[] = [];
    let ready = 0;
    for (let i = 0; i < trials; i++) {
      const old = h.supervisor.containerOf("local:group");
      if (old) await h.docker.remove(old);
      await sleep(500);
      await h.channel.receive("local:group", `chatter ${i}`, { mentionsAssistant: false });
      await sleep(delayMs);
      const t = performance.now();
      await h.ask("local:group", `@Andy ping ${i}`);
      replies.push(performance.now() - t);
      const e = events.get(h.supervisor.containerOf("local:group") ?? "");
      if (e?.bound !== undefined && e.bound <= t) ready += 1;
    }
    out.push({ delayMs, replyMs: round(median(replies)), readyBeforeTrigger: ready, trials });
  }
  return { warmReplyMs: round(warmMs), byDelay: out };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const delays = process.env.BENCH_PREWARM_DELAYS?.split(",").map(Number);
  const result = await measureColdPhases({
    runs: Number(process.env.BENCH_COLD ?? 5),
    prewarmDelaysMs: delays,
  });
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}
