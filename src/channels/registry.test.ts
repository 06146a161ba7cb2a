import { afterEach, describe, expect, it } from "vitest";
import { captureLog } from "../../test/doubles/capture-log.js";
import { MemoryChannel } from "../../test/doubles/memory-channel.js";
import { TelegramBotApiDouble } from "../../test/doubles/telegram-bot-api.js";
import { closedPort } from "../../test/ports.js";
import { waitFor } from "../../test/wait.js";
import type { Channel, InboundMessage } from "./channel.js";
import { ChannelRegistry } from "./registry.js";
import { createTelegramAdapter } from "./telegram/index.js";

let api: TelegramBotApiDouble;
let registry: ChannelRegistry | null = null;
afterEach(async () => {
  await registry?.stopAll();
  registry = null;
  await api.close().catch(() => {});
});

/** A registry with one Telegram adapter on `apiRoot`, fast retries, and what it receives and logs. */
function telegramRegistry(apiRoot: string) {
  const logs = captureLog();
  const adapter = createTelegramAdapter({
    botToken: api.token,
    apiRoot,
    assistantName: "Andy",
    log: logs.log,
    retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20 },
    pollTimeoutSeconds: 1,
  });
  registry = new ChannelRegistry([adapter], logs.log, { backoff: { baseMs: 40, maxMs: 160 } });
  const received: InboundMessage[] = [];
  registry.onInbound(async (m) => {
    received.push(m);
  });
  const warnings = () => logs.lines.filter((l) => l.level >= 40);
  return { registry, logs, received, warnings };
}

describe("ChannelRegistry: a channel that cannot connect at start", () => {
  it("a closed port at boot: start goes on, retries with backoff (each attempt logged once) and connects once the API is up", async () => {
    api = new TelegramBotApiDouble();
    const port = await closedPort();
    const r = telegramRegistry(`http://127.0.0.1:${port}`);
    await expect(r.registry.startAll()).resolves.toBeUndefined();
    expect(r.registry.startStates()).toEqual([
      {
        name: "telegram",
        state: "retrying",
        error: expect.stringMatching(/ECONNREFUSED/),
        nextAttemptAt: expect.any(Number),
      },
    ]);
    expect(r.registry.states().telegram).toMatch(/^down: .*ECONNREFUSED.*; next attempt in \d+ s$/);
    await waitFor(() => r.warnings().length >= 3, "three failed attempts logged", 10_000);
    await api.start(port);
    await waitFor(() => r.registry.startStates()[0]?.state === "started", "telegram started", 10_000);
    // Only the registry's line per attempt, each with its next delay (growing, capped); nothing else.
    const warnings = r.warnings();
    expect(warnings.every((l) => l.msg.startsWith("telegram could not start; retrying in"))).toBe(true);
    expect(warnings.map((l) => l.attempt)).toEqual(warnings.map((_, i) => i + 1));
    expect(warnings.slice(0, 3).map((l) => l.retryInMs)).toEqual([40, 80, 160]);
    api.pushMessage({ chatId: 5, text: "are you up?" });
    await waitFor(() => r.received.length === 1, "the message received");
    expect(r.received[0]?.text).toBe("are you up?");
  });

  it("an API that is up but drops connections at first: retried until it answers", async () => {
    api = new TelegramBotApiDouble();
    await api.start();
    api.dropNextConnection("getMe", 5);
    const r = telegramRegistry(api.apiRoot);
    await r.registry.startAll();
    await waitFor(() => r.registry.startStates()[0]?.state === "started", "telegram started", 10_000);
    expect(api.callsOf("getMe")).toHaveLength(6);
  });

  it("a refused token (401) is still a fatal configuration error: startAll rejects, nothing retried", async () => {
    api = new TelegramBotApiDouble();
    await api.start();
    api.tokenValid = false;
    const r = telegramRegistry(api.apiRoot);
    await expect(r.registry.startAll()).rejects.toMatchObject({ code: "TELEGRAM_UNAUTHORIZED" });
    expect(r.registry.startStates()[0]).toMatchObject({
      state: "failed",
      error: expect.stringMatching(/401/),
    });
    await new Promise((res) => setTimeout(res, 200));
    expect(api.callsOf("getMe")).toHaveLength(1);
  });

  it("a 401 on a later attempt stops the retries with one clear line", async () => {
    api = new TelegramBotApiDouble();
    await api.start();
    api.dropNextConnection("getMe", 2);
    api.tokenValid = false;
    const r = telegramRegistry(api.apiRoot);
    await r.registry.startAll();
    await waitFor(() => r.registry.startStates()[0]?.state === "failed", "telegram given up", 10_000);
    const calls = api.callsOf("getMe").length;
    await new Promise((res) => setTimeout(res, 300));
    expect(api.callsOf("getMe")).toHaveLength(calls);
    expect(r.logs.lines.filter((l) => l.level >= 50).map((l) => l.msg)).toContain(
      "telegram refused to start, it stays stopped: Telegram rejected the bot token (401): check TELEGRAM_BOT_TOKEN",
    );
  });

  it("stopChannel stops one channel and says so in its state; the others run on", async () => {
    api = new TelegramBotApiDouble();
    await api.start();
    const r = telegramRegistry(api.apiRoot);
    const other = new MemoryChannel();
    const both = new ChannelRegistry([r.registry.all()[0] as Channel, other], r.logs.log);
    registry = both;
    await both.startAll();
    await both.stopChannel("telegram");
    expect(both.startStates().map((s) => [s.name, s.state])).toEqual([
      ["telegram", "stopped"],
      ["memory", "started"],
    ]);
    await both.send("mem:1", "still here");
    expect(other.sent).toEqual([{ chatId: "mem:1", text: "still here" }]);
  });

  it("stopAll ends a pending retry: no attempt after the stop", async () => {
    api = new TelegramBotApiDouble();
    const port = await closedPort();
    const r = telegramRegistry(`http://127.0.0.1:${port}`);
    await r.registry.startAll();
    await r.registry.stopAll();
    expect(r.registry.startStates()[0]?.state).toBe("stopped");
    const attempts = r.warnings().length;
    await api.start(port);
    await new Promise((res) => setTimeout(res, 400));
    expect(api.callsOf("getMe")).toHaveLength(0);
    expect(r.warnings()).toHaveLength(attempts);
  });
});

describe("ChannelRegistry: channels start side by side", () => {
  it("a channel slow to connect holds up no other: the fast one is connected while the slow one starts", async () => {
    api = new TelegramBotApiDouble();
    let release = () => {};
    const slow = new MemoryChannel("slow", "slow:");
    slow.start = () => new Promise<void>((r) => (release = r));
    const fast = new MemoryChannel("fast", "fast:");
    registry = new ChannelRegistry([slow, fast], captureLog().log);
    const started = registry.startAll();
    await waitFor(
      () => registry?.startStates().find((s) => s.name === "fast")?.state === "started",
      "the fast channel connected",
      2000,
    );
    expect(registry.startStates().find((s) => s.name === "slow")?.state).toBe("starting");
    release();
    await started;
    expect(registry.startStates().map((s) => s.state)).toEqual(["started", "started"]);
  });
});
