import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TelegramBotApiDouble, type TgUpdate } from "./telegram-bot-api.js";

let api: TelegramBotApiDouble;
beforeEach(async () => {
  api = new TelegramBotApiDouble();
  await api.start();
});
afterEach(async () => {
  await api.close();
});

async function call(method: string, payload: Record<string, unknown> = {}) {
  const res = await fetch(`${api.apiRoot}/bot${api.token}/${method}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(payload),
  });
  return (await res.json()) as { ok: boolean; result?: unknown; error_code?: number };
}

const ids = (r: { result?: unknown }) => (r.result as TgUpdate[]).map((u) => u.update_id);

describe("the Bot API double's getUpdates", () => {
  it("hands out an update again until a later offset confirms it", async () => {
    api.pushMessage({ chatId: 1, text: "one" });
    api.pushMessage({ chatId: 1, text: "two" });
    expect(ids(await call("getUpdates"))).toEqual([1, 2]);
    expect(ids(await call("getUpdates"))).toEqual([1, 2]);
    expect(ids(await call("getUpdates", { offset: 2 }))).toEqual([2]);
    expect(api.confirmedOffset).toBe(2);
    expect(ids(await call("getUpdates", { offset: 1 }))).toEqual([2]);
    expect(ids(await call("getUpdates", { offset: 3 }))).toEqual([]);
  });

  it("holds a long poll until an update arrives, or answers empty at the timeout", async () => {
    const t0 = Date.now();
    expect(ids(await call("getUpdates", { timeout: 1 }))).toEqual([]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    const pending = call("getUpdates", { timeout: 10 });
    await new Promise((r) => setTimeout(r, 100));
    const t1 = Date.now();
    api.pushMessage({ chatId: 1, text: "now" });
    expect(ids(await pending)).toEqual([1]);
    expect(Date.now() - t1).toBeLessThan(1000);
  });

  it("holds a method's answer for N ms, refuses it, or drops the connection", async () => {
    api.holdNext("sendMessage", 400);
    const t0 = Date.now();
    expect((await call("sendMessage", { chat_id: 5, text: "late" })).ok).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(380);
    api.failNext("sendMessage", { error_code: 500, description: "Internal Server Error" });
    expect(await call("sendMessage", { chat_id: 5, text: "refused" })).toMatchObject({
      ok: false,
      error_code: 500,
    });
    api.dropNextConnection("sendMessage");
    await expect(call("sendMessage", { chat_id: 5, text: "dropped" })).rejects.toThrow();
    expect(api.sent(5)).toEqual(["late"]);
  });
});
