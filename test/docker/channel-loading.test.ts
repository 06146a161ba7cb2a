import { readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, expect, it } from "vitest";
import { TelegramBotApiDouble } from "../doubles/telegram-bot-api.js";
import { type LiveProcess, spawnProcess, tsNode } from "../process.js";
import { waitFor } from "../wait.js";
import { writeLinkedCreds } from "../whatsapp/fake-socket.js";
import { useHostFixture } from "./host-fixture.js";
import { AGENT_IMAGE, describeDocker } from "./support.js";

const root = path.join(import.meta.dirname, "..", "..");
const traceHook = pathToFileURL(path.join(root, "test/fixtures/module-trace.mjs")).href;

describeDocker("channel libraries load only for configured channels", () => {
  const model = useHostFixture("nestbox-libs-", () => "hi there");
  let running: LiveProcess | null = null;
  afterEach(async () => {
    await running?.kill("SIGKILL");
    running = null;
    rmSync(path.join(model.cwd, "data"), { recursive: true, force: true });
  });

  /** `nestbox start` (from source) with every resolved package recorded in `trace`. */
  const host = (trace: string, env: Record<string, string>, args: string[] = []) => {
    const [cmd, argv] = tsNode(path.join(root, "src/cli/nestbox.ts"), ["start", ...args]);
    running = spawnProcess(cmd, ["--import", traceHook, ...argv], {
      cwd: model.cwd,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: model.cwd,
        LOG_LEVEL: "warn",
        NESTBOX_HEALTH_PORT: "0",
        MODEL: "scripted",
        OPENAI_BASE_URL: model.llm.url,
        AGENT_IMAGE,
        NESTBOX_MODULE_TRACE: trace,
        ...env,
      },
    });
    return running;
  };
  const loaded = (trace: string) => readFileSync(trace, "utf8").trim().split("\n");

  it("the terminal alone: a whole turn runs and neither grammy, baileys nor qrcode was loaded", async () => {
    const trace = path.join(model.cwd, "trace-terminal.txt");
    const h = host(trace, {});
    h.send("hello");
    await h.waitFor("Andy: hi there\n");
    h.endInput();
    expect(await h.exited()).toBe(0);
    const packages = loaded(trace);
    // The trace sees the libraries the host does use.
    expect(packages).toEqual(expect.arrayContaining(["better-sqlite3", "dockerode", "pino"]));
    expect(packages).not.toContain("grammy");
    expect(packages).not.toContain("@whiskeysockets/baileys");
    expect(packages).not.toContain("qrcode");
  });

  it("Telegram configured and WhatsApp linked: both libraries load, the host runs, SIGTERM exits 0", async () => {
    const api = new TelegramBotApiDouble();
    const apiRoot = await api.start();
    try {
      await writeLinkedCreds(path.join(model.cwd, "data", "auth", "whatsapp"));
      const trace = path.join(model.cwd, "trace-channels.txt");
      const h = host(trace, { TELEGRAM_BOT_TOKEN: api.token, TELEGRAM_API_ROOT: apiRoot }, ["--terminal"]);
      await waitFor(() => api.callsOf("getUpdates").length > 0, "the first getUpdates", 60_000);
      expect(await h.kill("SIGTERM")).toBe(0);
      const packages = loaded(trace);
      expect(packages).toContain("grammy");
      expect(packages).toContain("@whiskeysockets/baileys");
      expect(packages).not.toContain("qrcode");
    } finally {
      await api.close();
    }
  });
});
