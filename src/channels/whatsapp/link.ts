import { randomBytes } from "node:crypto";
import { mkdir, rename } from "node:fs/promises";
import type { Agent } from "node:http";
import path from "node:path";
import { jidDecode } from "@whiskeysockets/baileys";
import { describeError } from "../../errors.js";
import type { Logger } from "../../log.js";
import { hasRegisteredCredentials, openAuthStore, wipeAuthDir } from "./auth-state.js";
import type { Timers } from "./connection.js";
import { baileysSocketFactory, disconnectCode, type SocketFactory, type WhatsAppSocket } from "./socket.js";

/** Progress while linking: a QR code to show, a pairing code to type, or the restart after a scan. */
export type LinkEvent =
  | { event: "qr"; qr: string }
  | { event: "pairing_code"; code: string }
  | { event: "restarting" };

/** How linking ended; `reason` is one line saying what happened and what to do. */
export type LinkResult = { ok: true; phone: string } | { ok: false; reason: string };

export interface LinkOptions {
  /** Where the credentials go; replaced only once the link succeeded. */
  authDir: string;
  log: Logger;
  socketFactory?: SocketFactory;
  proxyAgent?: Agent;
  /** Link with a pairing code for this number (digits, with country code) instead of a QR code. */
  phone?: string;
  timeoutMs: number;
  timers?: Timers;
  /** Aborting (Ctrl-C) ends the attempt and leaves nothing behind. */
  signal?: AbortSignal;
  onEvent(event: LinkEvent): void | Promise<void>;
}

const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** 515 restarts in a row tolerated while linking (one is normal: right after the scan). */
const MAX_RESTARTS = 3;

const NETWORK_HINT =
  "check the network (a TLS-intercepting proxy must let WhatsApp's hosts bypass it, see docs/whatsapp.md) and run the command again";

function closeReason(code: number | undefined, error: unknown, pairing: boolean, prompted: boolean): string {
  if (!prompted && code !== 401 && code !== 403) {
    return `could not reach WhatsApp (${describeError(error ?? "connection closed")}); ${NETWORK_HINT}`;
  }
  switch (code) {
    case 401:
      return "WhatsApp refused the link (logged out); run the command again";
    case 403:
      return "WhatsApp refused this account (forbidden); check the account in the WhatsApp app";
    case 408:
      return pairing
        ? "the pairing code expired before it was entered; run the command again"
        : "the QR codes expired before one was scanned; run the command again";
    case 440:
      return "another session replaced this one; close other linking attempts and run the command again";
    default:
      return `the connection to WhatsApp closed${code ? ` (code ${code})` : ""}; ${NETWORK_HINT}`;
  }
}

/**
 * Links this device to a WhatsApp account: shows QR codes (or requests one pairing code), follows
 * the restart WhatsApp asks for after the scan, and resolves once the connection is open. The
 * credentials are written to a temporary directory beside `authDir` and moved into place only
 * on success; on failure, timeout or abort that directory is removed.
 */
export async function linkWhatsApp(o: LinkOptions): Promise<LinkResult> {
  const timers = o.timers ?? realTimers;
  const factory = o.socketFactory ?? baileysSocketFactory;
  const pairing = o.phone !== undefined;
  const tmpDir = path.join(
    path.dirname(o.authDir),
    `.${path.basename(o.authDir)}.linking-${randomBytes(4).toString("hex")}`,
  );
  await mkdir(path.dirname(o.authDir), { recursive: true });
  const store = await openAuthStore(tmpDir, (err) =>
    o.log.warn({ err }, "saving WhatsApp credentials failed"),
  );
  const verbose = o.log.isLevelEnabled("debug");
  const logger = o.log.child({ component: "baileys" }, { level: verbose ? o.log.level : "warn" });

  return new Promise<LinkResult>((resolve) => {
    let sock: WhatsAppSocket | null = null;
    let unsubscribe: (() => void) | null = null;
    let done = false;
    let codeRequested = false;
    let lastQr: string | undefined;
    let restarts = 0;
    /** A QR code or pairing code was shown: the network is fine. */
    let prompted = false;

    const finish = async (outcome: LinkResult): Promise<void> => {
      if (done) return;
      done = true;
      timers.clearTimeout(timer);
      o.signal?.removeEventListener("abort", onAbort);
      unsubscribe?.();
      const last = sock;
      sock = null;
      await last?.end(undefined).catch(() => undefined);
      await store.flush();
      store.close();
      let result = outcome;
      if (result.ok) {
        try {
          if (!(await hasRegisteredCredentials(tmpDir))) throw new Error("no credentials were saved");
          await wipeAuthDir(o.authDir);
          await rename(tmpDir, o.authDir);
        } catch (err) {
          result = { ok: false, reason: `saving the credentials failed: ${describeError(err)}` };
        }
      }
      if (!result.ok) await wipeAuthDir(tmpDir).catch(() => undefined);
      resolve(result);
    };
    const fail = (reason: string) => void finish({ ok: false, reason });

    const onQr = async (s: WhatsAppSocket, qr: string): Promise<void> => {
      if (!pairing) {
        if (qr === lastQr) return;
        lastQr = qr;
        await o.onEvent({ event: "qr", qr });
        return;
      }
      // The socket is up once it shows a QR code: the moment a pairing code can be requested.
      if (codeRequested || !o.phone) return;
      codeRequested = true;
      try {
        const code = await s.requestPairingCode(o.phone);
        if (!done) await o.onEvent({ event: "pairing_code", code });
      } catch (err) {
        fail(
          `requesting a pairing code failed: ${describeError(err)}; check --phone and run the command again`,
        );
      }
    };

    const connect = (): void => {
      let s: WhatsAppSocket;
      try {
        s = factory({
          auth: store.state,
          logger,
          ...(o.proxyAgent ? { agent: o.proxyAgent, fetchAgent: o.proxyAgent } : {}),
        });
      } catch (err) {
        fail(`could not start the WhatsApp connection: ${describeError(err)}`);
        return;
      }
      sock = s;
      unsubscribe = s.ev.process(async (events) => {
        if (s !== sock || done) return;
        if (events["creds.update"]) void store.saveCreds();
        const update = events["connection.update"];
        if (!update) return;
        if (update.qr) {
          prompted = true;
          await onQr(s, update.qr);
        }
        if (update.connection === "open") {
          const me = store.state.creds.me?.id ?? s.user?.id;
          void finish({ ok: true, phone: jidDecode(me)?.user ?? "" });
        } else if (update.connection === "close") {
          const code = disconnectCode(update.lastDisconnect?.error);
          unsubscribe?.();
          sock = null;
          await s.end(undefined).catch(() => undefined);
          if (code === 515 && ++restarts <= MAX_RESTARTS && !done) {
            await o.onEvent({ event: "restarting" });
            connect();
          } else {
            fail(closeReason(code, update.lastDisconnect?.error, pairing, prompted));
          }
        }
      });
    };

    const onAbort = () => fail("cancelled before the link completed; nothing was saved");
    const timer = timers.setTimeout(
      () =>
        fail(
          `timed out after ${Math.round(o.timeoutMs / 1000)}s waiting for the link; run the command again and ${
            pairing ? "enter the pairing code" : "scan the QR code"
          } sooner, or pass a longer --timeout`,
        ),
      o.timeoutMs,
    );
    if (o.signal?.aborted) onAbort();
    else {
      o.signal?.addEventListener("abort", onAbort, { once: true });
      connect();
    }
  });
}
