import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { agentNetworkName, LABELS } from "../../src/containers/agent-spec.js";
import { seedDataDir } from "../data-dir.js";
import { type ScriptedLlm, type ScriptedRequest, startScriptedLlm } from "../doubles/scripted-llm.js";
import { TelegramBotApiDouble } from "../doubles/telegram-bot-api.js";
import { type LiveProcess, startHost } from "../process.js";
import { waitFor } from "../wait.js";
import { AGENT_IMAGE, describeDocker } from "./support.js";

const run = promisify(execFile);
const root = path.join(import.meta.dirname, "..", "..");
const MAIN = 9201;
const FAMILY = 9202;
const NEW_CHAT = 9203;
const MEMORY_WORD = "ocelot-42";

const unescapeXml = (s: string) =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");

/**
 * The scripted model: `TOOL:<name>:<json>` in the newest message calls that host tool, a tool's
 * answer is reported back as "tool said: ...", a scheduled run answers "ran <prompt> seen=yes|no"
 * (whether the conversation it was given holds MEMORY_WORD), anything else "ok".
 */
function respond(req: ScriptedRequest) {
  const messages = req.messages as { role: string; content: unknown }[];
  const text = (m: { content: unknown } | undefined) =>
    unescapeXml(typeof m?.content === "string" ? m.content : JSON.stringify(m?.content ?? ""));
  const last = messages.at(-1);
  if (last?.role === "tool") return { text: `tool said: ${text(last)}` };
  const prompt = text(last);
  const task = /<scheduled_task [^>]*>([\s\S]*?)<\/scheduled_task>/.exec(prompt);
  if (task?.[1] !== undefined) {
    const earlier = messages
      .slice(0, -1)
      .filter((m) => m.role === "user")
      .map(text)
      .join("\n");
    return { text: `ran ${task[1]} seen=${earlier.includes(MEMORY_WORD) ? "yes" : "no"}` };
  }
  const call = /TOOL:([a-z_]+):(\{.*?\})(?:<|$)/.exec(prompt);
  if (call?.[1] && call[2]) return { toolCall: { name: call[1], arguments: JSON.parse(call[2]) } };
  return { text: "ok" };
}

describeDocker("scheduled tasks through the real host", () => {
  let api: TelegramBotApiDouble;
  let llm: ScriptedLlm;
  let dataDir: string;
  let host: LiveProcess | null = null;
  const installId = `tasks${Date.now().toString(36)}`;

  const env = () => ({
    NESTBOX_DATA_DIR: dataDir,
    OPENAI_BASE_URL: llm.url,
    OPENAI_API_KEY: "sk-tasks",
    MODEL: "scripted",
    MODEL_PROVIDER: "openai",
    AGENT_IMAGE,
    AGENT_MEMORY_MB: "512",
    TELEGRAM_BOT_TOKEN: api.token,
    TELEGRAM_API_ROOT: api.apiRoot,
    NESTBOX_MOUNT_ALLOWLIST: path.join(dataDir, "..", "no-allowlist.json"),
    TASK_MIN_INTERVAL: "2s",
    TZ: "UTC",
  });

  async function start(): Promise<void> {
    const polls = api.callsOf("getUpdates").length;
    host = startHost(root, env());
    await waitFor(
      () => {
        if (host?.child.exitCode !== null) throw new Error(`host exited:\n${host?.stderr().slice(-3000)}`);
        return api.callsOf("getUpdates").length > polls;
      },
      "the host to poll Telegram",
      90_000,
    );
  }

  async function kill(): Promise<void> {
    await host?.kill("SIGKILL");
    host = null;
  }

  /** Writes in a chat; resolves with the bot's answer (the first new message there). */
  async function say(chatId: number, text: string): Promise<string> {
    const before = api.sent(chatId).length;
    api.pushMessage({ chatId, text });
    return waitFor(() => api.sent(chatId)[before], `an answer in ${chatId} to ${text}`, 60_000);
  }

  const ran = (chatId: number, prompt: string) =>
    api.sent(chatId).filter((t) => t.startsWith(`ran ${prompt} `));

  beforeAll(async () => {
    api = new TelegramBotApiDouble();
    await api.start();
    llm = await startScriptedLlm({ format: "openai", host: "127.0.0.1", respond });
    const parent = mkdtempSync(path.join(tmpdir(), "nestbox-tasks-"));
    dataDir = path.join(parent, "data");
    seedDataDir(dataDir, installId, [
      { chatId: `tg:${MAIN}`, channel: "telegram", folder: "owner", isMain: true },
      { chatId: `tg:${FAMILY}`, channel: "telegram", folder: "family" },
    ]);
    await start();
  }, 120_000);

  afterAll(async () => {
    await host?.kill("SIGKILL");
    const { stdout } = await run("docker", ["ps", "-aq", "--filter", `label=${LABELS.install}=${installId}`]);
    for (const id of stdout.split("\n").filter(Boolean))
      await run("docker", ["rm", "-f", id]).catch(() => {});
    await run("docker", ["network", "rm", agentNetworkName(installId)]).catch(() => {});
    await api?.close();
    await llm?.close();
    rmSync(path.dirname(dataDir), { recursive: true, force: true });
  });

  it("a message makes the agent schedule a task; it fires on time and its reply reaches the chat unasked", async () => {
    const answer = await say(
      FAMILY,
      'TOOL:schedule_task:{"prompt":"say hello","schedule_type":"once","schedule_value":"in 3s"}',
    );
    expect(answer).toMatch(/^tool said: task \d+ scheduled for tg:9202: once, next run in under a minute, /);
    const scheduledAt = Date.now();
    const before = api.sentLog().length;
    await waitFor(() => ran(FAMILY, "say hello").length > 0, "the task's reply", 20_000);
    const reply = api
      .sentLog()
      .slice(before)
      .find((s) => s.text.startsWith("ran say hello"));
    // Due 3 s after scheduling; the exact timer fires within a second, the turn takes a moment.
    expect((reply?.at ?? 0) - scheduledAt).toBeGreaterThanOrEqual(2_000);
    expect((reply?.at ?? 0) - scheduledAt).toBeLessThan(8_000);
    expect(api.callsOf("getUpdates").length).toBeGreaterThan(0);
  }, 60_000);

  it("an interval task runs again and again, and stops after pause_task", async () => {
    const answer = await say(
      FAMILY,
      'TOOL:schedule_task:{"prompt":"tick","schedule_type":"interval","schedule_value":"2s","context_mode":"isolated"}',
    );
    const id = /task (\d+) scheduled/.exec(answer)?.[1];
    expect(id).toBeDefined();
    await waitFor(() => ran(FAMILY, "tick").length >= 3, "three ticks", 30_000);
    const paused = await say(FAMILY, `TOOL:pause_task:{"task_id":${id}}`);
    expect(paused).toMatch(new RegExp(`tool said: .*paused: #${id} paused`));
    await new Promise((r) => setTimeout(r, 1_000));
    const after = ran(FAMILY, "tick").length;
    await new Promise((r) => setTimeout(r, 6_000));
    expect(ran(FAMILY, "tick").length).toBe(after);
    const listed = await say(FAMILY, "TOOL:list_tasks:{}");
    expect(listed).toMatch(new RegExp(`#${id} paused`));
  }, 90_000);

  it("a group task sees the chat's conversation, an isolated one does not", async () => {
    await say(MAIN, `please remember ${MEMORY_WORD}`);
    await say(
      MAIN,
      'TOOL:schedule_task:{"prompt":"recall group","schedule_type":"once","schedule_value":"in 2s","context_mode":"group"}',
    );
    await say(
      MAIN,
      'TOOL:schedule_task:{"prompt":"recall alone","schedule_type":"once","schedule_value":"in 2s","context_mode":"isolated"}',
    );
    await waitFor(
      () => ran(MAIN, "recall group").length > 0 && ran(MAIN, "recall alone").length > 0,
      "both runs",
      30_000,
    );
    expect(ran(MAIN, "recall group")).toEqual(["ran recall group seen=yes"]);
    expect(ran(MAIN, "recall alone")).toEqual(["ran recall alone seen=no"]);
  }, 90_000);

  it("a once-task due while the host is SIGKILLed runs exactly once after the restart", async () => {
    await say(
      FAMILY,
      'TOOL:schedule_task:{"prompt":"while down","schedule_type":"once","schedule_value":"in 4s"}',
    );
    await kill();
    await new Promise((r) => setTimeout(r, 6_000));
    expect(ran(FAMILY, "while down")).toEqual([]);
    await start();
    await waitFor(() => ran(FAMILY, "while down").length > 0, "the missed run", 30_000);
    // A second crash and start must not run it again.
    await new Promise((r) => setTimeout(r, 2_000));
    await kill();
    await start();
    await new Promise((r) => setTimeout(r, 4_000));
    expect(ran(FAMILY, "while down")).toEqual(["ran while down seen=no"]);
  }, 180_000);

  it("the main chat registers a new chat with register_chat, and a message there is answered; others may not", async () => {
    const denied = await say(
      FAMILY,
      `TOOL:register_chat:{"channel":"telegram","jid":"tg:${NEW_CHAT}","name":"new","folder":"newchat","requires_trigger":false}`,
    );
    expect(denied).toMatch(/only the main chat may register chats/);
    const bad = await say(
      MAIN,
      `TOOL:register_chat:{"channel":"telegram","jid":"tg:${NEW_CHAT}","name":"new","folder":"Bad Folder","requires_trigger":false}`,
    );
    expect(bad).toMatch(/folder .*"Bad Folder" is not allowed/);
    const done = await say(
      MAIN,
      `TOOL:register_chat:{"channel":"telegram","jid":"tg:${NEW_CHAT}","name":"new","folder":"newchat","requires_trigger":false}`,
    );
    expect(done).toMatch(new RegExp(`registered tg:${NEW_CHAT} "new" in folder newchat`));
    expect(await say(NEW_CHAT, "hello there")).toBe("ok");
    const chats = await say(MAIN, "TOOL:list_chats:{}");
    expect(chats).toContain(`tg:${NEW_CHAT}`);
  }, 120_000);
});
