import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { sleep, TelegramFixture, waitFor } from "../../../test/telegram/harness.js";
import { ChannelError, ChannelNetworkError } from "../../errors.js";
import type { InboundMessage } from "../channel.js";
import { CONFLICT_MESSAGE, UNAUTHORIZED_MESSAGE } from "./index.js";

let fx: TelegramFixture;
beforeEach(async () => {
  fx = await TelegramFixture.create();
});
afterEach(async () => {
  await fx.close();
});

const errorLines = () => fx.logs.lines.filter((l) => l.level >= 50).map((l) => l.msg);

describe("telegram lifecycle", () => {
  it("start() rejects on a 401 with the TELEGRAM_BOT_TOKEN message and logs it", async () => {
    fx.api.tokenValid = false;
    const adapter = fx.adapter();
    const err = await adapter.start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChannelError);
    expect(err).toMatchObject({ code: "TELEGRAM_UNAUTHORIZED", message: UNAUTHORIZED_MESSAGE });
    expect(UNAUTHORIZED_MESSAGE).toBe("Telegram rejected the bot token (401): check TELEGRAM_BOT_TOKEN");
    expect(errorLines()).toContain(UNAUTHORIZED_MESSAGE);
    expect(fx.api.callsOf("getUpdates")).toHaveLength(0);
    await expect(adapter.stop()).resolves.toBeUndefined();
  });

  it("start() rejects on a 409 saying another instance is polling", async () => {
    fx.api.conflictNext();
    const adapter = fx.adapter();
    const err = await adapter.start().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "TELEGRAM_CONFLICT", message: CONFLICT_MESSAGE });
    expect(CONFLICT_MESSAGE).toContain(
      "another instance is polling this bot (409): stop it or use one token per instance",
    );
    expect(errorLines()).toContain(CONFLICT_MESSAGE);
  });

  it("an instance that loses the poll to another one (409) stops and logs why; the other keeps working", async () => {
    const first = await fx.started();
    await waitFor(() => fx.api.callsOf("getUpdates").length >= 2, "first instance long-polling");
    const second = await fx.started();
    await waitFor(() => errorLines().includes(CONFLICT_MESSAGE), "the conflict logged");
    fx.api.pushMessage({ chatId: 10, text: "who gets this" });
    await waitFor(() => second.received.length === 1, "second instance receives");
    expect(first.received).toEqual([]);
    await expect(first.adapter.stop()).resolves.toBeUndefined();
  });

  it("a 401 while polling stops the channel with the token message", async () => {
    const { received } = await fx.started();
    await waitFor(() => fx.api.callsOf("getUpdates").length >= 2, "long poll running");
    fx.api.tokenValid = false;
    fx.api.pushMessage({ chatId: 10, text: "last one" });
    await waitFor(() => errorLines().includes(UNAUTHORIZED_MESSAGE), "the 401 logged");
    expect(received.map((m) => m.text)).toEqual(["last one"]);
    const polls = fx.api.callsOf("getUpdates").length;
    await sleep(100);
    expect(fx.api.callsOf("getUpdates").length).toBe(polls);
  });

  it("retries getMe after a dropped connection and starts", async () => {
    fx.api.dropNextConnection("getMe");
    const { adapter } = await fx.started();
    expect(adapter.botInfo).toEqual({ id: fx.api.bot.id, username: fx.api.bot.username });
  });

  it("start() rejects with a ChannelNetworkError when Telegram stays unreachable", async () => {
    fx.api.dropNextConnection("getMe", 10);
    const err = await fx
      .adapter()
      .start()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChannelNetworkError);
    expect(err).toMatchObject({ code: "TELEGRAM_NETWORK" });
    expect(fx.api.callsOf("getMe")).toHaveLength(3);
  });

  it("stop() during a start that is still retrying ends it without polling", async () => {
    fx.api.dropNextConnection("getMe", 100);
    const adapter = fx.adapter({ retry: { maxAttempts: 50, baseDelayMs: 100, maxDelayMs: 100 } });
    const starting = adapter.start().catch((e: unknown) => e);
    await waitFor(() => fx.api.callsOf("getMe").length >= 2, "getMe retried");
    await adapter.stop();
    expect(await starting).toBeInstanceOf(Error);
    await sleep(150);
    expect(fx.api.callsOf("getUpdates")).toHaveLength(0);
  });

  it("calls onReady after start and again when polling recovers from a network outage", async () => {
    const adapter = fx.adapter();
    const received: InboundMessage[] = [];
    let ready = 0;
    adapter.onReady(() => {
      ready++;
    });
    adapter.onInbound(async (m) => {
      received.push(m);
    });
    await adapter.start();
    expect(ready).toBe(1);
    await waitFor(() => fx.api.callsOf("getUpdates").length >= 2, "long poll running");
    fx.api.dropNextConnection("getUpdates", 3);
    fx.api.pushMessage({ chatId: 10, text: "before the outage" });
    await waitFor(() => fx.api.callsOf("getUpdates").length >= 6, "three dropped polls and a fourth");
    fx.api.pushMessage({ chatId: 10, text: "after the outage" });
    await waitFor(() => received.length === 2, "both messages");
    expect(ready).toBe(2);
    expect(received.map((m) => m.text)).toEqual(["before the outage", "after the outage"]);
    expect(fx.logs.lines.some((l) => l.msg === "Telegram polling recovered")).toBe(true);
  });

  it("never hands an update to a new adapter after stop(), even one still being handled at stop", async () => {
    const first = fx.adapter();
    const handled: string[] = [];
    first.onInbound(async (m) => {
      if (m.text === "slow") await sleep(200);
      handled.push(m.text);
    });
    await first.start();
    fx.api.pushMessage({ chatId: 10, text: "one" });
    fx.api.pushMessage({ chatId: 11, text: "slow" });
    await waitFor(() => handled.includes("one"), "first message handled");
    await first.stop();
    expect(handled).toEqual(["one", "slow"]);
    expect(fx.api.confirmedOffset).toBe(3);

    const second = await fx.started();
    fx.api.pushMessage({ chatId: 10, text: "three" });
    await waitFor(() => second.received.length === 1, "the new message");
    await sleep(50);
    expect(second.received.map((m) => m.text)).toEqual(["three"]);
    expect([...fx.api.handedOut.entries()]).toEqual([
      [1, 1],
      [2, 1],
      [3, 1],
    ]);
  });

  it("stops quickly while a long poll is pending and can stop twice", async () => {
    const { adapter } = await fx.started({ pollTimeoutSeconds: 30 });
    await waitFor(() => fx.api.callsOf("getUpdates").length >= 2, "long poll running");
    const t0 = Date.now();
    await adapter.stop();
    await adapter.stop();
    expect(Date.now() - t0).toBeLessThan(5000);
  });
});

describe("telegram state, as the health endpoint reports it", () => {
  it("connecting, connected, down while polling fails, connected again, down with the token message", async () => {
    const adapter = fx.adapter();
    expect(adapter.state()).toBe("connecting");
    await adapter.start();
    expect(adapter.state()).toBe("connected");
    await waitFor(() => fx.api.callsOf("getUpdates").length >= 2, "long poll running");
    fx.api.dropNextConnection("getUpdates", 2);
    fx.api.pushMessage({ chatId: 10, text: "wake the poll" });
    await waitFor(
      () => adapter.state().startsWith("down: polling fails ("),
      "state down while polling fails",
    );
    // The state is served by the health endpoint: the token (part of every Bot API URL) never appears.
    expect(adapter.state()).not.toContain(fx.api.token.split(":")[1]);
    await waitFor(() => adapter.state() === "connected", "connected again after recovery", 10_000);
    fx.api.tokenValid = false;
    fx.api.pushMessage({ chatId: 10, text: "one more" });
    await waitFor(() => adapter.state() === `down: ${UNAUTHORIZED_MESSAGE}`, "down with the token message");
    await adapter.stop();
  });

  it("a start that fails leaves the state down with the reason", async () => {
    fx.api.tokenValid = false;
    const adapter = fx.adapter();
    await adapter.start().catch(() => {});
    expect(adapter.state()).toBe(`down: ${UNAUTHORIZED_MESSAGE}`);
  });
});
