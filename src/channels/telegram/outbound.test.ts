import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { closedPort } from "../../../test/ports.js";
import { sleep, TelegramFixture, waitFor } from "../../../test/telegram/harness.js";
import { ChannelError, ChannelMaybeSentError, ChannelNetworkError } from "../../errors.js";

let fx: TelegramFixture;
beforeEach(async () => {
  fx = await TelegramFixture.create();
});
afterEach(async () => {
  await fx.close();
});

async function rejection(p: Promise<unknown>): Promise<ChannelError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ChannelError)) throw new Error(`expected a ChannelError, got ${String(err)}`);
  return err;
}

describe("telegram outbound", () => {
  it("splits a 10000-character reply into chunks of at most 4096 on line boundaries, losing nothing", async () => {
    const adapter = fx.adapter();
    const lines = Array.from(
      { length: 126 },
      (_, i) => `line ${String(i).padStart(3, "0")} ${"x".repeat(70)}`,
    );
    const reply = lines.join("\n");
    expect(reply.length).toBeGreaterThanOrEqual(10_000);
    await adapter.send("tg:10", reply);
    const chunks = fx.api.sent(10);
    expect(chunks.length).toBe(3);
    for (const chunk of chunks) {
      expect(chunk.length).toBeLessThanOrEqual(4096);
      for (const line of chunk.split("\n")) expect(lines).toContain(line);
    }
    expect(chunks.join("\n")).toBe(reply);
  });

  it("shows typing, refreshes it while active and stops when cleared", async () => {
    const adapter = fx.adapter({ typingIntervalMs: 40 });
    await adapter.setTyping("tg:10", true);
    await waitFor(() => fx.api.chatActions(10).length >= 3, "typing refreshed");
    expect(new Set(fx.api.chatActions(10))).toEqual(new Set(["typing"]));
    await adapter.setTyping("tg:10", false);
    await sleep(60);
    const count = fx.api.chatActions(10).length;
    await sleep(120);
    expect(fx.api.chatActions(10).length).toBe(count);
  });

  it("a failing typing indicator neither blocks nor fails a send", async () => {
    const adapter = fx.adapter();
    fx.api.failNext("sendChatAction", { error_code: 500, description: "Internal Server Error" }, 5);
    fx.api.dropNextConnection("sendChatAction");
    await expect(adapter.setTyping("tg:10", true)).resolves.toBeUndefined();
    await adapter.send("tg:10", "the answer");
    await adapter.setTyping("tg:10", false);
    expect(fx.api.sent(10)).toEqual(["the answer"]);
    await waitFor(
      () => fx.logs.lines.some((l) => l.msg === "typing indicator failed" && l.level === 20),
      "debug log",
    );
  });

  it("honours retry_after on 429 and then delivers", async () => {
    const adapter = fx.adapter();
    fx.api.failNext("sendMessage", {
      error_code: 429,
      description: "Too Many Requests: retry after 1",
      retry_after: 1,
    });
    const t0 = Date.now();
    await adapter.send("tg:10", "patience");
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    const calls = fx.api.callsOf("sendMessage");
    expect(calls).toHaveLength(2);
    expect((calls[1]?.at ?? 0) - (calls[0]?.at ?? 0)).toBeGreaterThanOrEqual(950);
    expect(fx.api.sent(10)).toEqual(["patience"]);
  });

  it("never retries a send whose connection dropped after the request: it may have arrived", async () => {
    const adapter = fx.adapter();
    fx.api.dropNextConnection("sendMessage");
    const err = await rejection(adapter.send("tg:10", "through the flaky network"));
    expect(err).toBeInstanceOf(ChannelMaybeSentError);
    expect(err.code).toBe("TELEGRAM_MAYBE_SENT");
    expect(fx.api.callsOf("sendMessage")).toHaveLength(1);
  });

  it("a reply Telegram stored before the connection reset is posted once, reported maybe-sent", async () => {
    const adapter = fx.adapter({ retry: { maxAttempts: 5, baseDelayMs: 5 } });
    fx.api.storeThenDrop();
    const err = await rejection(adapter.send("tg:10", "stored, answer lost"));
    expect(err).toBeInstanceOf(ChannelMaybeSentError);
    expect(fx.api.sent(10)).toEqual(["stored, answer lost"]);
    const secret = fx.api.token.split(":")[1] ?? "";
    expect(`${err.message} ${String((err.cause as Error).message)} ${fx.logs.text()}`).not.toContain(secret);
  });

  it("retries Telegram server errors", async () => {
    const adapter = fx.adapter();
    fx.api.failNext("sendMessage", { error_code: 502, description: "Bad Gateway" });
    await adapter.send("tg:10", "eventually");
    expect(fx.api.sent(10)).toEqual(["eventually"]);
  });

  it("retries a refused connection (never sent) up to maxAttempts, then a ChannelNetworkError that hides the token", async () => {
    const closed = await closedPort();
    const adapter = fx.adapter({
      apiRoot: `http://127.0.0.1:${closed}`,
      retry: { maxAttempts: 3, baseDelayMs: 5 },
    });
    const err = await rejection(adapter.send("tg:10", "lost"));
    expect(err).toBeInstanceOf(ChannelNetworkError);
    expect(err).not.toBeInstanceOf(ChannelMaybeSentError);
    expect(err.code).toBe("TELEGRAM_NETWORK");
    expect(err.message).toContain("sendMessage");
    expect(fx.logs.lines.filter((l) => l.msg === "Telegram call failed, retrying")).toHaveLength(2);
    const secret = fx.api.token.split(":")[1] ?? "";
    expect(`${err.message} ${String((err.cause as Error).message)} ${fx.logs.text()}`).not.toContain(secret);
  });

  it("turns a refusal into a ChannelError naming the method and Telegram's description", async () => {
    const adapter = fx.adapter();
    fx.api.failNext("sendMessage", {
      error_code: 403,
      description: "Forbidden: bot was blocked by the user",
    });
    const err = await rejection(adapter.send("tg:10", "hello?"));
    expect(err).not.toBeInstanceOf(ChannelNetworkError);
    expect(err.code).toBe("TELEGRAM_API_ERROR");
    expect(err.message).toBe("Telegram refused sendMessage (403): Forbidden: bot was blocked by the user");
    expect(fx.api.callsOf("sendMessage")).toHaveLength(1);
    expect(fx.logs.lines.find((l) => l.code === "TELEGRAM_API_ERROR")).toMatchObject({
      method: "sendMessage",
    });
  });

  it("a 401 on send says to check TELEGRAM_BOT_TOKEN and stops polling", async () => {
    const { adapter } = await fx.started();
    await waitFor(() => fx.api.callsOf("getUpdates").length >= 2, "long poll running");
    fx.api.tokenValid = false;
    const err = await rejection(adapter.send("tg:10", "hello"));
    expect(err.code).toBe("TELEGRAM_UNAUTHORIZED");
    expect(err.message).toContain("TELEGRAM_BOT_TOKEN");
    const polls = fx.api.callsOf("getUpdates").length;
    fx.api.tokenValid = true;
    fx.api.pushMessage({ chatId: 10, text: "nobody listens" });
    await sleep(150);
    expect(fx.api.callsOf("getUpdates").length).toBe(polls);
  });

  it("rejects chat ids that are not Telegram's", async () => {
    const adapter = fx.adapter();
    const err = await rejection(adapter.send("local:console", "x"));
    expect(err.code).toBe("TELEGRAM_INVALID_CHAT_ID");
  });
});
