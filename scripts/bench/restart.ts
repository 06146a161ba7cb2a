// The restart bench: a real `nestbox start` process with N registered Telegram chats is SIGKILLed,
// a user writes while it is down, and the host is started again: the time from spawn to that
// message's reply (Telegram long polling against the Bot API double, real agent containers).
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { promisify } from "node:util";
import { agentNetworkName, LABELS } from "../../src/containers/agent-spec.js";
import { seedDataDir } from "../../test/data-dir.js";
import { startScriptedLlm } from "../../test/doubles/scripted-llm.js";
import { TelegramBotApiDouble } from "../../test/doubles/telegram-bot-api.js";
import { type LiveProcess, spawnProcess } from "../../test/process.js";
import { waitFor } from "../../test/wait.js";
import { alive, processTree } from "./memory.js";

const run = promisify(execFile);
const root = path.join(import.meta.dirname, "..", "..");
const FIRST_CHAT = 9300;

export interface RestartOptions {
  chats: number;
  agentImage: string;
  restarts: number;
}

/** Kill-and-restart cycles; returns each start -> first reply time, and start -> polling. */
export async function measureRestart(o: RestartOptions) {
  const api = new TelegramBotApiDouble();
  await api.start();
  const llm = await startScriptedLlm({
    format: "openai",
    host: "127.0.0.1",
    respond: () => ({ text: "pong" }),
  });
  const parent = mkdtempSync(path.join(tmpdir(), "nestbox-bench-restart-"));
  const dataDir = path.join(parent, "data");
  const installId = `restart${process.pid}`;
  seedDataDir(
    dataDir,
    installId,
    Array.from({ length: o.chats }, (_, i) => ({
      chatId: `tg:${FIRST_CHAT + i}`,
      channel: "telegram" as const,
      name: `chat ${i}`,
      folder: `chat-${i}`,
      isMain: i === 0,
    })),
  );
  const env = {
    NESTBOX_DATA_DIR: dataDir,
    OPENAI_BASE_URL: llm.url,
    OPENAI_API_KEY: "sk-bench",
    MODEL: "scripted",
    MODEL_PROVIDER: "openai",
    AGENT_IMAGE: o.agentImage,
    AGENT_MEMORY_MB: "256",
    TELEGRAM_BOT_TOKEN: api.token,
    TELEGRAM_API_ROOT: api.apiRoot,
    NESTBOX_MOUNT_ALLOWLIST: path.join(parent, "no-allowlist.json"),
    LOG_LEVEL: "warn",
    TZ: "UTC",
  };
  let host: LiveProcess | null = null;
  // The user's command: npm start (prestart builds only when stale; the build is done before the clock starts).
  const startHost = () =>
    spawnProcess("npm", ["start", "--", "--no-terminal"], {
      cwd: root,
      env: { PATH: process.env.PATH ?? "", HOME: parent, NESTBOX_HEALTH_PORT: "0", ...env },
    });
  await run("node", [path.join(root, "scripts/build-if-stale.mjs")], { cwd: root });
  /** A crash: every process of the tree (npm and the host it runs) SIGKILLed at once. */
  const crash = async (p: LiveProcess) => {
    const pids = processTree(p.child.pid as number);
    for (const pid of pids.reverse()) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
    }
    await p.exited();
    await waitFor(() => pids.every((pid) => !alive(pid)), "the host's processes gone", 10_000);
  };
  const polled = (after: number) =>
    waitFor(
      () => {
        if (host?.child.exitCode != null) throw new Error(`the host exited:\n${host.stderr().slice(-2000)}`);
        return api.callsOf("getUpdates").length > after;
      },
      "the host to poll",
      120_000,
    );
  const replyIn = (chatId: number, before: number) =>
    waitFor(() => api.sent(chatId).length > before, `a reply in ${chatId}`, 120_000);
  const firstReplyMs: number[] = [];
  const pollingMs: number[] = [];
  try {
    host = startHost();
    await polled(0);
    // Every chat active once, as in life: each has its session and folder in use.
    for (let i = 0; i < o.chats; i++) api.pushMessage({ chatId: FIRST_CHAT + i, text: "hello" });
    await waitFor(
      () => [...Array(o.chats).keys()].every((i) => api.sent(FIRST_CHAT + i).length > 0),
      "every chat answered",
      300_000,
    );
    for (let r = 0; r < o.restarts; r++) {
      await crash(host);
      const chat = FIRST_CHAT + ((r * 7) % o.chats);
      const before = api.sent(chat).length;
      api.pushMessage({ chatId: chat, text: `while down ${r}` });
      const polls = api.callsOf("getUpdates").length;
      const t0 = performance.now();
      host = startHost();
      await polled(polls);
      pollingMs.push(performance.now() - t0);
      await replyIn(chat, before);
      firstReplyMs.push(performance.now() - t0);
    }
  } finally {
    if (host) await crash(host);
    const { stdout } = await run("docker", ["ps", "-aq", "--filter", `label=${LABELS.install}=${installId}`]);
    for (const id of stdout.split("\n").filter(Boolean))
      await run("docker", ["rm", "-f", id]).catch(() => {});
    await run("docker", ["network", "rm", agentNetworkName(installId)]).catch(() => {});
    await api.close();
    await llm.close();
    rmSync(parent, { recursive: true, force: true });
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
  return {
    chats: o.chats,
    restarts: o.restarts,
    startToPollingMs: { p50: Math.round(median(pollingMs)), all: pollingMs.map(Math.round) },
    startToFirstReplyMs: { p50: Math.round(median(firstReplyMs)), all: firstReplyMs.map(Math.round) },
    how: "SIGKILL the host's process tree, a user writes while it is down, spawn `npm start -- --no-terminal`: spawn -> getUpdates, spawn -> the reply sent",
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await measureRestart({
    chats: Number(process.env.BENCH_RESTART_CHATS ?? 50),
    agentImage: process.env.NESTBOX_TEST_AGENT_IMAGE ?? "nestbox-agent:test",
    restarts: Number(process.env.BENCH_RESTARTS ?? 3),
  });
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}
