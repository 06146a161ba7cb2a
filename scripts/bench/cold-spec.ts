/**
 * What the agent container's spec costs at start (issue 13): create + attach + start + first echo of
 * a `cat` container, from bare up to the product's full hardening, one option added at a time,
 * interleaved, on a throwaway network and throwaway folders (removed afterwards). Measuring only:
 * the product's spec keeps every option (docs/security.md).
 *
 *   npx tsx scripts/bench/cold-spec.ts     (BENCH_COLD=5, NESTBOX_TEST_AGENT_IMAGE)
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import type { ContainerSpec } from "../../src/containers/container-runtime.js";
import { DockerRuntime } from "../../src/containers/docker-runtime.js";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
const round = (n: number) => Math.round(n * 10) / 10;

/** Start + first echo medians per spec variant; each variant adds one option to the one before. */
export async function measureSpecToggles(
  opts: { runs?: number; agentImage?: string; baseImage?: string } = {},
) {
  const runs = opts.runs ?? 5;
  const rt = new DockerRuntime();
  const tag = `nestbox-bench-spec-${process.pid}`;
  const network = await rt.ensureNetwork(tag, { internal: false, labels: { "nestbox.bench": "1" } });
  const dir = mkdtempSync(path.join(tmpdir(), "nestbox-bench-spec-"));
  const mounts = ["group", "global", "sessions", "skills"].map((name, i) => ({
    hostPath: mkdtempSync(path.join(dir, `${name}-`)),
    containerPath: `/workspace/${name}`,
    readOnly: i === 3,
  }));
  const base: ContainerSpec = {
    name: "",
    image: opts.baseImage ?? process.env.NESTBOX_TEST_BASE_IMAGE ?? "nestbox-base:local",
    labels: { "nestbox.bench": "1" },
    env: {},
    mounts: [],
    cmd: ["cat"],
    openStdin: true,
  };
  const steps: [string, Partial<ContainerSpec>][] = [
    ["bare base image, no init", {}],
    ["+ init", { init: true }],
    [
      "+ agent image (entrypoint cat)",
      {
        image: opts.agentImage ?? process.env.NESTBOX_TEST_AGENT_IMAGE ?? "nestbox-agent:test",
        entrypoint: ["cat"],
        cmd: [],
      },
    ],
    [
      "+ own bridge network + extra host",
      { network: tag, extraHosts: [`host.nestbox:${network.gateway ?? "127.0.0.1"}`] },
    ],
    ["+ 4 bind mounts", { mounts }],
    ["+ tmpfs /tmp", { tmpfs: { "/tmp": "rw,nosuid,nodev,size=256m" } }],
    ["+ read-only root", { readOnlyRootfs: true }],
    [
      "+ cap drop ALL, no-new-privileges, user",
      { capDrop: ["ALL"], securityOpt: ["no-new-privileges"], user: "1000:1000" },
    ],
    [
      "+ memory, cpu, pids limits (= the product's spec)",
      { memoryBytes: 512 * 1024 * 1024, nanoCpus: 1e9, pidsLimit: 256 },
    ],
  ];
  const specs: [string, ContainerSpec][] = [];
  let acc = base;
  for (const [name, change] of steps) {
    acc = { ...acc, ...change };
    specs.push([name, acc]);
  }
  const times = new Map<string, number[]>(specs.map(([n]) => [n, []]));
  try {
    for (let i = 0; i < runs; i++) {
      for (const [name, spec] of specs) {
        const t0 = performance.now();
        const id = await rt.create({
          ...spec,
          name: `${tag}-${i}-${times.get(name)?.length ?? 0}-${specs.findIndex(([n]) => n === name)}`,
        });
        const io = await rt.attach(id);
        const echo = new Promise<void>((resolve) => io.stdout.once("data", () => resolve()));
        await rt.start(id);
        io.stdin.write("ping\n");
        await echo;
        times.get(name)?.push(performance.now() - t0);
        io.close();
        await rt.remove(id);
      }
    }
  } finally {
    for (const c of await rt.list({ "nestbox.bench": "1" })) if (c.name.includes(tag)) await rt.remove(c.id);
    await rt.removeNetwork(tag);
    rmSync(dir, { recursive: true, force: true });
  }
  return {
    runs,
    startAndFirstEchoMedianMs: Object.fromEntries([...times].map(([n, v]) => [n, round(median(v))])),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await measureSpecToggles({ runs: Number(process.env.BENCH_COLD ?? 5) });
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}
