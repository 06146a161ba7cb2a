import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import type { CommandIO } from "../../src/cli/io.js";
import { DockerRuntime } from "../../src/containers/docker-runtime.js";
import { NO_CHANNEL_MESSAGE } from "../../src/daemon/stop.js";
import { runSetup } from "../../src/setup/cli.js";
import { Store } from "../../src/store/index.js";
import { type ScriptedLlm, startScriptedLlm } from "../doubles/scripted-llm.js";
import { TelegramBotApiDouble } from "../doubles/telegram-bot-api.js";
import { closedPort } from "../ports.js";
import { type LiveProcess, startHost } from "../process.js";
import { waitFor } from "../wait.js";
import { AGENT_IMAGE, describeDocker } from "./support.js";

const GROUP = -1009876543210;
const docker = new DockerRuntime();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function installIdOf(cwd: string): string {
  const store = Store.open(path.join(cwd, "data"));
  try {
    return store.meta.installId();
  } finally {
    store.close();
  }
}

describeDocker(
  "leave it running: daemon mode, signals, retrying channels, runners that die with the host",
  () => {
    let llm: ScriptedLlm;
    let cwd: string;
    let host: LiveProcess | null = null;
    beforeAll(async () => {
      llm = await startScriptedLlm({
        format: "openai",
        host: "127.0.0.1",
        respond: async (req) => {
          // A turn that stays in flight until its host is gone.
          if (JSON.stringify(req.messages).includes("take your time")) await sleep(30_000);
          return { text: "here" };
        },
      });
    });
    afterAll(async () => {
      await llm.close();
    });
    afterEach(async () => {
      if (host && host.child.exitCode === null && host.child.signalCode === null) await host.kill("SIGKILL");
      host = null;
      // Whatever a killed host left behind: its containers, then its network.
      const id = installIdOf(cwd);
      for (const c of await docker.list({ "nestbox.install": id })) await docker.remove(c.id);
      await docker.removeNetwork(`nestbox-${id}`).catch(() => {});
      rmSync(cwd, { recursive: true, force: true });
    });
    const env = () => ({ MODEL: "scripted", OPENAI_BASE_URL: llm.url, AGENT_IMAGE });
    const fresh = () => {
      cwd = mkdtempSync(path.join(tmpdir(), "nestbox-daemon-"));
      return cwd;
    };
    const agents = async () => docker.list({ "nestbox.install": installIdOf(cwd) });
    /** SIGKILLs the host; its agent containers must stop within 15 s, with no new start. */
    const killedHostsAgentsStop = async () => {
      await host?.kill("SIGKILL");
      const killedAt = Date.now();
      await waitFor(
        async () => {
          await sleep(250);
          return (await agents()).every((c) => !c.running);
        },
        "the agent container stopped",
        15_000,
      );
      expect(Date.now() - killedAt).toBeLessThan(15_000);
    };

    it("after a host SIGKILL its warm agent container stops within 15 s, with no new start", async () => {
      host = startHost(fresh(), env());
      host.send("hello");
      await host.waitFor("Andy: here");
      expect((await agents()).filter((c) => c.running)).toHaveLength(1);
      await killedHostsAgentsStop();
    });

    it("after a host SIGKILL during a turn its agent container stops within 15 s, with no new start", async () => {
      host = startHost(fresh(), env());

      host.send("take your time");
      await waitFor(
        () => llm.requests.some((r) => JSON.stringify(r.messages).includes("take your time")),
        "the model request",
        60_000,
      );
      expect((await agents()).filter((c) => c.running)).toHaveLength(1);
      await killedHostsAgentsStop();
    });

    it("SIGHUP stops cleanly like SIGTERM: exit 129, the agent container removed", async () => {
      host = startHost(fresh(), env());
      host.send("hello");
      await host.waitFor("Andy: here");
      expect(await agents()).toHaveLength(1);
      expect(await host.kill("SIGHUP")).toBe(129);
      expect(host.stderr()).toMatch(/"signal":"SIGHUP","msg":"stopping"/);
      expect(await agents()).toEqual([]);
    });

    it("--no-terminal with no channel says so once and runs until SIGTERM, stdin closed", async () => {
      host = startHost(fresh(), env(), ["--no-terminal"]);
      host.endInput();
      await host.waitFor(NO_CHANNEL_MESSAGE, { stream: "stderr" });
      await sleep(3000);
      expect(host.child.exitCode).toBeNull();
      expect(host.stderr().split(NO_CHANNEL_MESSAGE)).toHaveLength(2);
      expect(await host.kill("SIGTERM")).toBe(0);
      expect(host.stdout()).toBe("");
      // As a service it logs to data/logs/nestbox.log as well.
      const logged = readFileSync(path.join(cwd, "data", "logs", "nestbox.log"), "utf8");
      expect(logged).toContain(NO_CHANNEL_MESSAGE);
      expect(logged).toMatch(/"signal":"SIGTERM","msg":"stopping"/);
    });

    it("Telegram unreachable at boot and stdin at EOF: the host retries, connects later and answers", async () => {
      fresh();
      const io: CommandIO = { stdout: { write: () => true }, stderr: { write: () => true }, env: {}, cwd };
      const registered = await runSetup(
        ["register", "--channel", "telegram", "--jid", `tg:${GROUP}`, "--name", "Ops", "--folder", "ops"],
        io,
      );
      expect(registered).toBe(0);
      const port = await closedPort();
      const tg = new TelegramBotApiDouble();
      try {
        host = startHost(
          cwd,
          { ...env(), TELEGRAM_BOT_TOKEN: tg.token, TELEGRAM_API_ROOT: `http://127.0.0.1:${port}` },
          ["--terminal"],
        );
        host.endInput();
        await host.waitFor(/"channel":"telegram".*"retryInMs":\d+.*could not start/, {
          stream: "stderr",
          timeoutMs: 90_000,
        });
        await host.waitFor("terminal input ended: the terminal chat is closed; telegram keeps running", {
          stream: "stderr",
        });
        expect(host.child.exitCode).toBeNull();
        await tg.start(port);
        await host.waitFor('"channel":"telegram","msg":"channel started"', {
          stream: "stderr",
          timeoutMs: 90_000,
        });
        tg.pushMessage({ chatId: GROUP, chatType: "supergroup", title: "Ops", text: "@Andy status?" });
        await waitFor(() => tg.sent(GROUP).length > 0, "the reply in the group", 60_000);
        expect(tg.sent(GROUP)).toEqual(["here"]);
        expect(await host.kill("SIGTERM")).toBe(0);
      } finally {
        await tg.close().catch(() => {});
      }
    });
  },
);
