import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { captureLog } from "../../test/doubles/capture-log.js";
import { TelegramFixture, waitFor } from "../../test/telegram/harness.js";
import { adapterRig } from "../../test/whatsapp/harness.js";
import { ChannelRegistry } from "../channels/registry.js";
import { MAX_MAYBE_SENT_SHOWN_ONCE, Store } from "../store/index.js";
import { DeliveryWorker } from "./delivery.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A store, the real Telegram adapter on the Bot API double, and a delivery worker over them. */
async function rig() {
  const dir = mkdtempSync(path.join(tmpdir(), "nestbox-delivery-"));
  const store = Store.open(dir);
  const fx = await TelegramFixture.create();
  const adapter = fx.adapter({ retry: { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 10 } });
  const worker = new DeliveryWorker({
    store,
    registry: new ChannelRegistry([adapter], fx.logs.log),
    log: fx.logs.log,
    retryDelayMs: 5,
    maxRetryDelayMs: 10,
  });
  cleanups.push(
    () => rmSync(dir, { recursive: true, force: true }),
    () => store.close(),
    () => fx.close(),
    () => worker.stop(),
  );
  return { store, fx, worker };
}

describe("delivery through Telegram when the answer to a stored message is lost", () => {
  it("one lost answer: the reply is resent once, counted and logged, then delivered", async () => {
    const { store, fx, worker } = await rig();
    fx.api.storeThenDrop(1);
    const id = store.outbox.add("tg:10", null, "hello once", 1);
    worker.kick();
    await waitFor(() => store.outbox.get(id)?.status === "delivered", "delivered");
    expect(fx.api.sent(10)).toEqual(["hello once", "hello once"]);
    expect(store.outbox.get(id)).toMatchObject({ maybeSent: 1, resends: 1, attempts: 2 });
    expect(fx.logs.lines.some((l) => l.msg === "reply may have been sent: resending it once")).toBe(true);
  });

  it("every answer lost: at most one resend, then failed-maybe-sent and an error logged", async () => {
    const { store, fx, worker } = await rig();
    fx.api.storeThenDrop(100);
    const id = store.outbox.add("tg:10", null, "posted, never confirmed", 1);
    worker.kick();
    await waitFor(() => store.outbox.get(id)?.status === "failed-maybe-sent", "given up");
    await new Promise((r) => setTimeout(r, 100));
    worker.kick();
    await worker.idle();
    expect(fx.api.sent(10)).toHaveLength(2);
    expect(fx.api.callsOf("sendMessage")).toHaveLength(2);
    expect(store.outbox.get(id)).toMatchObject({ maybeSent: 2, resends: 1 });
    const error = fx.logs.lines.find((l) => l.level === 50);
    expect(error).toMatchObject({ msg: "reply may have been sent twice already: not sending it again" });
  });

  it("a refused connection (never sent) is retried until it goes through, with no resend counted", async () => {
    const { store, fx, worker } = await rig();
    fx.api.failNext("sendMessage", { error_code: 502, description: "Bad Gateway" }, 4);
    const id = store.outbox.add("tg:10", null, "eventually", 1);
    worker.kick();
    await waitFor(() => store.outbox.get(id)?.status === "delivered", "delivered");
    expect(fx.api.sent(10)).toEqual(["eventually"]);
    expect(store.outbox.get(id)).toMatchObject({ maybeSent: 0, resends: 0 });
  });
});

describe("delivery of a reply longer than one message", () => {
  it("a retry after a later chunk failed does not post the chunks already delivered again", async () => {
    const { store, fx, worker } = await rig();
    const reply = `${"a".repeat(4000)}\n\n${"b".repeat(100)}`;
    fx.api.failCall("sendMessage", 2, { error_code: 400, description: "Bad Request: try later" });
    const id = store.outbox.add("tg:10", null, reply, 1);
    worker.kick();
    await waitFor(() => store.outbox.get(id)?.status === "delivered", "delivered");
    expect(fx.api.sent(10)).toEqual(["a".repeat(4000), "b".repeat(100)]);
    expect(fx.api.callsOf("sendMessage")).toHaveLength(3);
    expect(store.outbox.get(id)).toMatchObject({ sentChunks: 2, attempts: 2 });
  });
});

describe("delivery recovery of rows a previous run left sending", () => {
  it("a row left sending is resent once; one already resent is not sent again", async () => {
    const { store, fx, worker } = await rig();
    const fresh = store.outbox.add("tg:10", null, "was in flight", 1);
    store.outbox.markSending(fresh, 2);
    const resent = store.outbox.add("tg:11", null, "in flight twice", 1);
    store.outbox.markSending(resent, 2);
    store.outbox.markMaybeSent(resent, "reset");
    store.outbox.markSending(resent, 3);
    worker.kick();
    await waitFor(() => store.outbox.get(fresh)?.status === "delivered", "delivered");
    await worker.idle();
    expect(fx.api.sent(10)).toEqual(["was in flight"]);
    expect(fx.api.sent(11)).toEqual([]);
    expect(store.outbox.get(fresh)).toMatchObject({ maybeSent: 1, resends: 1 });
    expect(store.outbox.get(resent)).toMatchObject({ status: "failed-maybe-sent", maybeSent: 2, resends: 1 });
  });
});

describe("delivery through WhatsApp, which shows a resent message id once", () => {
  async function waRig() {
    const dir = mkdtempSync(path.join(tmpdir(), "nestbox-delivery-wa-"));
    const store = Store.open(dir);
    const wa = await adapterRig();
    await wa.startOpen();
    const logs = captureLog();
    const worker = new DeliveryWorker({
      store,
      registry: new ChannelRegistry([wa.adapter], logs.log),
      log: logs.log,
      retryDelayMs: 5,
      maxRetryDelayMs: 10,
    });
    cleanups.push(
      () => rmSync(dir, { recursive: true, force: true }),
      () => store.close(),
      () => wa.close(),
      () => worker.stop(),
    );
    return { store, wa, worker, logs };
  }
  const CHAT = "15550002222@s.whatsapp.net";

  it("keeps resending an ambiguous send with the same id past the one-resend limit, then delivers", async () => {
    const { store, wa, worker } = await waRig();
    wa.world.timeOutSendsAfterWrite = MAX_MAYBE_SENT_SHOWN_ONCE - 1;
    const id = store.outbox.add(CHAT, null, "hello", 1);
    worker.kick();
    await waitFor(() => store.outbox.get(id)?.status === "delivered", "delivered");
    expect(wa.world.sentIds).toHaveLength(MAX_MAYBE_SENT_SHOWN_ONCE);
    expect(new Set(wa.world.sentIds).size).toBe(1);
    expect(store.outbox.get(id)).toMatchObject({ maybeSent: MAX_MAYBE_SENT_SHOWN_ONCE - 1 });
  });

  it("gives a reply up as maybe sent after the channel's limit, and says so in the log", async () => {
    const { store, wa, worker, logs } = await waRig();
    wa.world.timeOutSendsAfterWrite = MAX_MAYBE_SENT_SHOWN_ONCE + 2;
    const id = store.outbox.add(CHAT, null, "hello", 1);
    worker.kick();
    await waitFor(() => store.outbox.get(id)?.status === "failed-maybe-sent", "given up");
    await worker.idle();
    expect(wa.world.sentIds).toHaveLength(MAX_MAYBE_SENT_SHOWN_ONCE);
    expect(logs.text()).toContain(
      `reply may have been sent ${MAX_MAYBE_SENT_SHOWN_ONCE} times already (same id each time)`,
    );
  });
});
