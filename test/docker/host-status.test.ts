import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect, it } from "vitest";
import { DockerRuntime } from "../../src/containers/docker-runtime.js";
import { readHostRecord } from "../../src/host/instance-lock.js";
import { TelegramBotApiDouble } from "../doubles/telegram-bot-api.js";
import { runNestbox, startHost } from "../process.js";
import { waitFor } from "../wait.js";
import { useHostFixture } from "./host-fixture.js";
import { AGENT_IMAGE, describeDocker } from "./support.js";

describeDocker("one host per data folder, and a status that tells running from crashed", () => {
  const h = useHostFixture("nestbox-hstat-", () => "answered after the crash");
  h.delayMs = 60_000;
  const docker = new DockerRuntime();

  it("refuses a second host without touching the first's agent; after SIGKILL status says crashed and names the orphan", async () => {
    const env = { MODEL: "scripted", OPENAI_BASE_URL: h.llm.url, AGENT_IMAGE };
    const status = async () => {
      const r = await runNestbox(h.cwd, ["status", "--json"], { env });
      return { code: r.code, report: JSON.parse(r.stdout) };
    };
    const first = startHost(h.cwd, env);
    first.send("are you there?");
    await waitFor(() => h.llm.requests.length > 0, "the model request", 90_000);

    const running = await status();
    expect(running.report.host).toMatchObject({ state: "running", pid: first.child.pid });
    expect(running.report.host.readiness).toMatchObject({
      ready: true,
      checks: { store: "ok", docker: "ok", model: "reachable", channels: { terminal: "connected" } },
    });
    expect(running.report.agents).toHaveLength(1);
    expect(running.code).toBe(0);
    const agent = running.report.agents[0].name as string;

    const second = await runNestbox(h.cwd, ["start"], { env });
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`pid ${first.child.pid}, started`);
    // The refused host reaped nothing: the first host's agent still runs, mid-turn.
    expect((await docker.inspect(agent))?.running).toBe(true);

    await first.kill("SIGKILL");
    const crashed = await status();
    expect(crashed.code).toBe(2);
    expect(crashed.report.host).toMatchObject({ state: "crashed", pid: first.child.pid });
    expect(crashed.report.orphans).toContain(agent);
    // status never removes anything.
    expect(await docker.inspect(agent)).not.toBeNull();

    // The lock died with the host: the next start takes over at once, reaps the orphan and answers.
    h.delayMs = 0;
    const next = startHost(h.cwd, env);
    next.endInput();
    expect(await next.exited()).toBe(0);
    expect(next.stdout()).toBe("Andy: answered after the crash\n");
    expect(await docker.inspect(agent)).toBeNull();
    const stopped = await status();
    expect(stopped.code).toBe(2);
    expect(stopped.report.host.state).toBe("stopped");
    expect(stopped.report.orphans).toEqual([]);
  });

  it("/readyz turns 503 and status exits 3 when the Telegram channel goes down", async () => {
    const tg = new TelegramBotApiDouble();
    await tg.start();
    const dir = mkdtempSync(path.join(tmpdir(), "nestbox-hstat-tg-"));
    const env = {
      MODEL: "scripted",
      OPENAI_BASE_URL: h.llm.url,
      AGENT_IMAGE,
      TELEGRAM_BOT_TOKEN: tg.token,
      TELEGRAM_API_ROOT: tg.apiRoot,
    };
    const host = startHost(dir, env);
    try {
      await host.waitFor('"channel":"telegram","msg":"channel started"', {
        stream: "stderr",
        timeoutMs: 90_000,
      });
      const port = readHostRecord(path.join(dir, "data"))?.healthPort;
      const readyz = async () => {
        const res = await fetch(`http://127.0.0.1:${port}/readyz`);
        return {
          code: res.status,
          body: (await res.json()) as { checks: { channels: Record<string, string> } },
        };
      };
      expect((await readyz()).code).toBe(200);
      const ready = await runNestbox(dir, ["status"], { env });
      expect(ready.code).toBe(0);
      expect(ready.stdout).toMatch(/^Ready: {4}yes/m);

      tg.tokenValid = false;
      tg.pushMessage({ chatId: 10, text: "wake the long poll" });
      const down = await waitFor(
        async () => {
          const r = await readyz();
          return r.code === 503 ? r : undefined;
        },
        "/readyz 503",
        20_000,
      );
      expect(down.body.checks.channels.telegram).toBe(
        "down: Telegram rejected the bot token (401): check TELEGRAM_BOT_TOKEN",
      );
      const notReady = await runNestbox(dir, ["status"], { env });
      expect(notReady.code).toBe(3);
      expect(notReady.stdout).toContain(
        "Ready:    NO: telegram down: Telegram rejected the bot token (401): check TELEGRAM_BOT_TOKEN",
      );
    } finally {
      await host.kill("SIGTERM");
      await tg.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
