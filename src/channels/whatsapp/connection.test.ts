import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { boom, OWNER, waMessage, writeLinkedCreds } from "../../../test/whatsapp/fake-socket.js";
import { type AdapterRig, adapterRig, settle, until } from "../../../test/whatsapp/harness.js";
import { ChannelError, ChannelNetworkError } from "../../errors.js";
import { classifyDisconnect } from "./connection.js";

const DM = "4917612345678@s.whatsapp.net";

describe("classifyDisconnect", () => {
  it("maps baileys disconnect codes to actions", () => {
    expect(classifyDisconnect(515)).toBe("restart");
    expect(classifyDisconnect(401)).toBe("logged-out");
    expect(classifyDisconnect(440)).toBe("replaced");
    for (const code of [405, 408, 428, 500, 503, undefined]) expect(classifyDisconnect(code)).toBe("backoff");
  });
});

describe("WhatsApp connection state machine", () => {
  let rig: AdapterRig;
  afterEach(async () => {
    await rig.close();
  });

  it("restarts at once on 515 with the same auth state, then fires onReady on open", async () => {
    rig = await adapterRig();
    const started = rig.adapter.start();
    const first = await rig.world.socketNumber(1);
    first.connecting();
    await first.serverClose(515);
    const second = await rig.world.socketNumber(2);
    expect(second.options.auth).toBe(first.options.auth);
    expect(rig.timers.delays).toEqual([30_000]); // only start()'s own wait: no backoff delay
    second.open();
    await started;
    expect(rig.readyCount()).toBe(1);
    expect(rig.world.live()).toEqual([second]);
  });

  it("saves the credentials baileys updates (creds.update)", async () => {
    rig = await adapterRig();
    // Linked, but without the lid: only the creds.update that comes with the open connection brings it.
    await writeLinkedCreds(rig.authDir, { id: OWNER.id, name: OWNER.name });
    const before = await readFile(path.join(rig.authDir, "creds.json"), "utf8");
    expect(before).toContain(OWNER.id);
    expect(before).not.toContain(OWNER.lid);
    await rig.startOpen();
    await until(async () => {
      // baileys rewrites the file in place: a read can catch it half written
      const text = await readFile(path.join(rig.authDir, "creds.json"), "utf8");
      return text.includes(`"lid":"${OWNER.lid}"`);
    }, "creds.json with the account's lid");
  });

  it("401 logged out: stops, wipes the auth dir, never reconnects", async () => {
    rig = await adapterRig();
    const sock = await rig.startOpen();
    await sock.serverClose(401);
    await until(() => !existsSync(rig.authDir), "the auth dir to be wiped");
    await settle();
    expect(rig.world.sockets).toHaveLength(1);
    expect(rig.world.live()).toHaveLength(0);
    expect(rig.timers.pending.size).toBe(0);
    await expect(rig.adapter.send(DM, "hi")).rejects.toBeInstanceOf(ChannelNetworkError);
  });

  it("reports its state: connecting, connected, connecting while it reconnects, down once logged out", async () => {
    rig = await adapterRig();
    expect(rig.adapter.state()).toBe("connecting");
    const sock = await rig.startOpen();
    expect(rig.adapter.state()).toBe("connected");
    await sock.serverClose(503);
    expect(rig.adapter.state()).toBe("connecting");
    await until(() => rig.timers.pending.size > 0, "the reconnect timer");
    rig.timers.fireNext();
    const again = await rig.world.socketNumber(2);
    again.open();
    await until(() => rig.adapter.state() === "connected", "connected again");
    await again.serverClose(401);
    await until(() => rig.adapter.state().startsWith("down: "), "down after the logout");
    expect(rig.adapter.state()).toMatch(/link/i);
  });

  it("401 during start rejects start() with a ChannelError that says to link again", async () => {
    rig = await adapterRig();
    const started = rig.adapter.start();
    const sock = await rig.world.socketNumber(1);
    await sock.serverClose(401);
    const err = await started.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChannelError);
    expect((err as ChannelError).code).toBe("WHATSAPP_LOGGED_OUT");
    expect((err as Error).message).toContain("npm run auth -- whatsapp");
  });

  it("440 connection replaced: stops without wiping the credentials", async () => {
    rig = await adapterRig();
    const sock = await rig.startOpen();
    await sock.serverClose(440);
    await settle();
    expect(existsSync(path.join(rig.authDir, "creds.json"))).toBe(true);
    expect(rig.world.sockets).toHaveLength(1);
    expect(rig.timers.pending.size).toBe(0);
  });

  it("a QR code means the device is not linked: start() rejects and nothing reconnects", async () => {
    rig = await adapterRig();
    const started = rig.adapter.start();
    const sock = await rig.world.socketNumber(1);
    sock.showQr("2@not-linked");
    await expect(started).rejects.toMatchObject({ code: "WHATSAPP_NOT_LINKED" });
    expect(rig.world.live()).toHaveLength(0);
  });

  it("405/408/428/503 reconnect with growing, capped backoff and one live socket", async () => {
    rig = await adapterRig();
    await rig.startOpen();
    const delays: number[] = [];
    for (const code of [408, 428, 503, 405, 408]) {
      const sock = rig.world.current;
      await sock.serverClose(code);
      await until(() => rig.timers.pending.size === 1, `a reconnect after ${code}`);
      expect(rig.world.live()).toHaveLength(0);
      // the ended socket's late events are not heard: still one pending reconnect
      sock.ev.emit("connection.update", {
        connection: "close",
        lastDisconnect: { error: boom(408), date: new Date() },
      });
      await settle(5);
      expect(rig.timers.pending.size).toBe(1);
      delays.push(rig.timers.fireNext());
      await rig.world.socketNumber(rig.world.sockets.length);
      expect(rig.world.live()).toHaveLength(1);
    }
    expect(delays).toEqual([1125, 2250, 4500, 8000, 8000]);
    // an open connection resets the backoff
    rig.world.current.open();
    await rig.world.current.serverClose(503);
    await until(() => rig.timers.pending.size === 1, "a reconnect after the reset");
    expect(rig.timers.fireNext()).toBe(1125);
  });

  it("fires onReady on every open and keeps one live socket", async () => {
    rig = await adapterRig();
    await rig.startOpen();
    await rig.world.current.serverClose(428);
    await until(() => rig.timers.pending.size === 1, "the reconnect");
    rig.timers.fireNext();
    const next = await rig.world.socketNumber(2);
    next.open();
    expect(rig.readyCount()).toBe(2);
    expect(rig.world.live()).toEqual([next]);
  });

  it("send while disconnected rejects with ChannelNetworkError; after reconnect it goes through", async () => {
    rig = await adapterRig();
    const sock = await rig.startOpen();
    await sock.serverClose(503);
    await expect(rig.adapter.send(DM, "queued reply")).rejects.toBeInstanceOf(ChannelNetworkError);
    await until(() => rig.timers.pending.size === 1, "the reconnect");
    rig.timers.fireNext();
    (await rig.world.socketNumber(2)).open();
    await rig.adapter.send(DM, "queued reply");
    expect(rig.world.sent).toEqual([{ jid: DM, text: "Andy: queued reply" }]);
  });

  it("hears each message once after a reconnect, and nothing from the old socket", async () => {
    rig = await adapterRig();
    const old = await rig.startOpen();
    await old.serverClose(515);
    const next = await rig.world.socketNumber(2);
    next.open();
    next.deliver([waMessage(DM, { conversation: "after reconnect" })]);
    old.deliver([waMessage(DM, { conversation: "from the dead socket" })]);
    await until(() => rig.inbound.length >= 1, "the inbound message");
    await settle();
    expect(rig.inbound.map((m) => m.text)).toEqual(["after reconnect"]);
  });

  it("stop ends the socket, cancels reconnects and is idempotent", async () => {
    rig = await adapterRig();
    const sock = await rig.startOpen();
    await sock.serverClose(408);
    await until(() => rig.timers.pending.size === 1, "the reconnect");
    await rig.adapter.stop();
    await rig.adapter.stop();
    expect(rig.timers.pending.size).toBe(0);
    expect(rig.world.live()).toHaveLength(0);
    expect(rig.world.sockets).toHaveLength(1);
  });
});
