/**
 * Idle memory of the real `npm start` (issue 13): the whole process tree's RSS (and PSS), process by
 * process, with Telegram (the Bot API double), the terminal (a pipe kept open) and optionally a linked
 * WhatsApp account, against a scripted model. Needs Docker and the agent image.
 *
 *   tsx scripts/bench/memory.ts            (prints JSON; MEMORY_RUNS=3, MEMORY_WHATSAPP=0 to skip it)
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { startScriptedLlm } from "../../test/doubles/scripted-llm.js";
import { TelegramBotApiDouble } from "../../test/doubles/telegram-bot-api.js";
import { writeLinkedCreds } from "../../test/whatsapp/fake-socket.js";

const ROOT = path.join(import.meta.dirname, "..", "..");

/** One process of the measured tree. */
export interface ProcessMemory {
  pid: number;
  /** The kernel's short name (`comm`): npm-cli's node shows as "npm", a shell as "sh". */
  comm: string;
  /** The command line, shortened. */
  cmd: string;
  rssMiB: number;
  /** Proportional set size (shared pages split between their users); null when smaps_rollup is unreadable. */
  pssMiB: number | null;
}

/** A measured idle tree. */
export interface TreeMemory {
  variant: string;
  rootPid: number;
  totalRssMiB: number;
  totalPssMiB: number | null;
  processes: ProcessMemory[];
}

/** What {@link measureIdleTree} starts. */
export interface IdleTreeOptions {
  /** Link a (fake) WhatsApp account first: baileys loads and keeps trying to reach WhatsApp. */
  whatsapp?: boolean;
  /** How long to wait after the first getUpdates before measuring; default 10 s. */
  settleMs?: number;
  /** The command a user runs; default `npm start -- --terminal`. */
  command?: [string, string[]];
  /** The nestbox checkout `npm start` runs in; default this one (another: a before/after comparison). */
  projectDir?: string;
  /** The agent image; default NESTBOX_TEST_AGENT_IMAGE or nestbox-agent:test. */
  agentImage?: string;
  /** Extra environment for the host (NODE_OPTIONS for an experiment). */
  env?: Record<string, string>;
  /** Called with the measured tree before the host is stopped (e.g. to signal it for a heap snapshot). */
  onIdle?: (tree: TreeMemory) => Promise<void>;
  /** Where progress goes; default stderr. */
  log?: (line: string) => void;
}

const mib = (kb: number) => Math.round((kb / 1024) * 10) / 10;

function readKb(file: string, field: string): number | null {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(file, "utf8"));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** `pid` and all its descendants, parents first (from /proc/<pid>/task/<tid>/children). */
export function processTree(pid: number): number[] {
  const out = [pid];
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tasks) {
    let kids: string[] = [];
    try {
      kids = readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").trim().split(/\s+/).filter(Boolean);
    } catch {}
    for (const kid of kids) out.push(...processTree(Number(kid)));
  }
  return out;
}

/** RSS and PSS of every process in `pid`'s tree, now. */
export function treeMemory(pid: number, variant = ""): TreeMemory {
  const processes: ProcessMemory[] = [];
  for (const p of processTree(pid)) {
    const rss = readKb(`/proc/${p}/status`, "VmRSS");
    if (rss === null) continue;
    const pss = readKb(`/proc/${p}/smaps_rollup`, "Pss");
    let comm = "?";
    let cmd = "";
    try {
      comm = readFileSync(`/proc/${p}/comm`, "utf8").trim();
      cmd = readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0").join(" ").trim().slice(0, 160);
    } catch {}
    processes.push({ pid: p, comm, cmd, rssMiB: mib(rss), pssMiB: pss === null ? null : mib(pss) });
  }
  const sum = (xs: number[]) => Math.round(xs.reduce((a, b) => a + b, 0) * 10) / 10;
  const psses = processes.map((p) => p.pssMiB);
  return {
    variant,
    rootPid: pid,
    totalRssMiB: sum(processes.map((p) => p.rssMiB)),
    totalPssMiB: psses.every((p) => p !== null) ? sum(psses as number[]) : null,
    processes,
  };
}

/** Whether a process with this pid still exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

/**
 * Starts `npm start -- --terminal` (the package.json script, as a user runs it) with Telegram on the Bot
 * API double, the terminal on an open pipe and a scripted model, waits until it is idle (`settleMs` after
 * the first getUpdates), measures the whole process tree, then stops it with SIGTERM.
 */
export async function measureIdleTree(opts: IdleTreeOptions = {}): Promise<TreeMemory> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`[memory] ${line}\n`));
  const dir = mkdtempSync(path.join(tmpdir(), "nestbox-bench-mem-"));
  const llm = await startScriptedLlm({
    format: "openai",
    host: "127.0.0.1",
    respond: () => ({ text: "ok" }),
  });
  const api = new TelegramBotApiDouble();
  const apiRoot = await api.start();
  if (opts.whatsapp) await writeLinkedCreds(path.join(dir, "data", "auth", "whatsapp"));
  const [cmd, args] = opts.command ?? ["npm", ["start", "--", "--terminal"]];
  // npm runs a script from the package's folder: the data folder is the temp one, by absolute path.
  const child = spawn(cmd, args, {
    cwd: opts.projectDir ?? ROOT,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: dir,
      MODEL: "m",
      OPENAI_BASE_URL: llm.url,
      AGENT_IMAGE: opts.agentImage ?? process.env.NESTBOX_TEST_AGENT_IMAGE ?? "nestbox-agent:test",
      NESTBOX_DATA_DIR: path.join(dir, "data"),
      NESTBOX_HEALTH_PORT: "0",
      LOG_LEVEL: "warn",
      TELEGRAM_BOT_TOKEN: api.token,
      TELEGRAM_API_ROOT: apiRoot,
      ...opts.env,
    },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  child.stdout?.resume();
  let pids: number[] = [];
  try {
    const deadline = Date.now() + 180_000;
    while (api.callsOf("getUpdates").length === 0) {
      if (child.exitCode !== null) throw new Error(`npm start exited (${child.exitCode}):\n${stderr}`);
      if (Date.now() > deadline) throw new Error(`no getUpdates within 180 s:\n${stderr}`);
      await sleep(100);
    }
    await sleep(opts.settleMs ?? 10_000);
    const variant = opts.whatsapp ? "telegram+terminal+whatsapp" : "telegram+terminal";
    const tree = treeMemory(child.pid as number, variant);
    pids = tree.processes.map((p) => p.pid);
    log(`${variant}: ${tree.totalRssMiB} MiB RSS, ${tree.totalPssMiB ?? "?"} MiB PSS`);
    await opts.onIdle?.(tree);
    return tree;
  } finally {
    child.kill("SIGTERM");
    const killer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    await exited(child);
    clearTimeout(killer);
    // A wrapper that dies on SIGTERM without passing it on (sh under npm) leaves the host orphaned.
    const orphans = pids.slice(1).filter(alive);
    if (orphans.length > 0)
      log(`stopping ${orphans.length} process(es) left behind by npm: ${orphans.join(" ")}`);
    for (const pid of orphans) process.kill(pid, "SIGKILL");
    await api.close();
    await llm.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The floor any Node.js host stands on: an idle `node` with nothing loaded (same run, same machine). */
export async function measureBareNode(): Promise<TreeMemory> {
  const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
  try {
    await sleep(2000);
    return treeMemory(child.pid as number, "bare node");
  } finally {
    child.kill("SIGKILL");
    await exited(child);
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

/** `runs` measurements of one variant and their medians (RSS and PSS). */
export async function measureIdleTreeMedian(runs: number, opts: IdleTreeOptions = {}) {
  const samples: TreeMemory[] = [];
  for (let i = 0; i < runs; i++) samples.push(await measureIdleTree(opts));
  const psses = samples.map((s) => s.totalPssMiB).filter((p): p is number => p !== null);
  return {
    variant: samples[0]?.variant ?? "",
    medianRssMiB: median(samples.map((s) => s.totalRssMiB)),
    medianPssMiB: psses.length > 0 ? median(psses) : null,
    samples,
  };
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith("scripts/bench/memory.ts")) {
  const runs = Number(process.env.MEMORY_RUNS ?? 3);
  const floor = await measureBareNode();
  const result: unknown[] = [
    { variant: floor.variant, rssMiB: floor.totalRssMiB, pssMiB: floor.totalPssMiB },
  ];
  result.push(await measureIdleTreeMedian(runs));
  if (process.env.MEMORY_WHATSAPP !== "0") result.push(await measureIdleTreeMedian(runs, { whatsapp: true }));
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}
