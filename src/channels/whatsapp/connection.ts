import type { Agent } from "node:http";
import type { BaileysEventMap, proto, WAMessageKey } from "@whiskeysockets/baileys";
import { type Backoff, backoffDelay } from "../../backoff.js";
import type { Logger } from "../../log.js";
import { type AuthStore, openAuthStore, wipeAuthDir } from "./auth-state.js";
import { disconnectCode, type SocketFactory, type WhatsAppSocket } from "./socket.js";

/** What to do when the socket closes, decided by the disconnect code. */
export type DisconnectAction = "restart" | "backoff" | "logged-out" | "replaced";

/** 515 -> restart now; 401 -> logged out; 440 -> replaced; anything else (405, 408, 428, 503, none) -> back off. */
export function classifyDisconnect(code: number | undefined): DisconnectAction {
  switch (code) {
    case 515:
      return "restart";
    case 401:
      return "logged-out";
    case 440:
      return "replaced";
    default:
      return "backoff";
  }
}

/** The timer functions the connection uses; injectable so tests control time. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Why the connection stopped for good. */
export type StopReason = "stopped" | "logged-out" | "replaced" | "not-linked";

/** Where the connection is in its life (internal: the adapter only asks for `openSocket`). */
type ConnectionStatus = "idle" | "connecting" | "open" | "waiting" | StopReason;

/** What the owner of a connection hears about. */
export interface ConnectionHooks {
  /** Every event batch of the current socket (stale sockets are never heard). */
  onEvents(events: Partial<BaileysEventMap>, socket: WhatsAppSocket): void;
  onOpen(socket: WhatsAppSocket): void;
  onStopped(reason: Exclude<StopReason, "stopped">): void;
}

export interface ConnectionOptions {
  authDir: string;
  log: Logger;
  socketFactory: SocketFactory;
  proxyAgent?: Agent;
  getMessage?: (key: WAMessageKey) => Promise<proto.IMessage | undefined>;
  random: () => number;
  timers: Timers;
  /** Reconnect delays; up to 25% jitter is added so many hosts do not reconnect in step. */
  backoff: Backoff;
  hooks: ConnectionHooks;
  /** Level for baileys' own (chatty) logs. */
  baileysLogLevel?: string;
}

/** After this many 515s in a row without an open connection, restarts back off too. */
const MAX_QUICK_RESTARTS = 3;

/**
 * Keeps one baileys socket alive: at most one live socket and one pending reconnect; listeners of
 * a replaced socket are removed and the socket ended, so nothing is heard twice.
 */
export class WhatsAppConnection {
  readonly #o: ConnectionOptions;
  #store: AuthStore | null = null;
  #sock: WhatsAppSocket | null = null;
  #unsubscribe: (() => void) | null = null;
  #timer: unknown = null;
  #attempt = 0;
  #quickRestarts = 0;
  #status: ConnectionStatus = "idle";

  constructor(options: ConnectionOptions) {
    this.#o = options;
  }

  /** The socket while the connection is open, else null. */
  get openSocket(): WhatsAppSocket | null {
    return this.#status === "open" ? this.#sock : null;
  }

  /** Opens the auth state and makes the first socket; events follow through the hooks. */
  async start(): Promise<void> {
    if (this.#status !== "idle" && !this.#isStopped()) return;
    this.#status = "connecting";
    this.#attempt = 0;
    this.#quickRestarts = 0;
    this.#store = await openAuthStore(this.#o.authDir, (err) =>
      this.#o.log.warn({ err }, "saving WhatsApp credentials failed"),
    );
    this.#connect();
  }

  /** Ends the socket and cancels any pending reconnect; idempotent. */
  async stop(): Promise<void> {
    await this.#halt("stopped");
  }

  #isStopped(): boolean {
    return ["stopped", "logged-out", "replaced", "not-linked"].includes(this.#status);
  }

  #connect(): void {
    if (this.#isStopped() || this.#sock || !this.#store) return;
    const store = this.#store;
    this.#status = "connecting";
    let sock: WhatsAppSocket;
    try {
      sock = this.#o.socketFactory({
        auth: store.state,
        logger: this.#o.log.child({ component: "baileys" }, { level: this.#o.baileysLogLevel ?? "warn" }),
        ...(this.#o.proxyAgent ? { agent: this.#o.proxyAgent, fetchAgent: this.#o.proxyAgent } : {}),
        ...(this.#o.getMessage ? { getMessage: this.#o.getMessage } : {}),
      });
    } catch (err) {
      this.#o.log.warn({ err }, "creating the WhatsApp socket failed");
      this.#scheduleReconnect();
      return;
    }
    this.#sock = sock;
    this.#unsubscribe = sock.ev.process((events) => {
      if (sock !== this.#sock) return;
      if (events["creds.update"]) void store.saveCreds();
      const update = events["connection.update"];
      this.#o.hooks.onEvents(events, sock);
      if (update) this.#onConnectionUpdate(sock, update);
    });
  }

  #onConnectionUpdate(sock: WhatsAppSocket, update: BaileysEventMap["connection.update"]): void {
    if (sock !== this.#sock) return;
    if (update.qr) {
      this.#o.log.error("WhatsApp is not linked: run `npm run auth -- whatsapp` to link this device");
      void this.#halt("not-linked");
      return;
    }
    if (update.connection === "open") {
      this.#status = "open";
      this.#attempt = 0;
      this.#quickRestarts = 0;
      this.#o.log.info({ user: sock.user?.id }, "WhatsApp connected");
      this.#o.hooks.onOpen(sock);
    } else if (update.connection === "close") {
      void this.#onClose(sock, disconnectCode(update.lastDisconnect?.error));
    }
  }

  async #onClose(sock: WhatsAppSocket, code: number | undefined): Promise<void> {
    this.#detach();
    this.#status = "waiting";
    await sock.end(undefined).catch(() => undefined);
    let action = classifyDisconnect(code);
    if (action === "restart" && ++this.#quickRestarts > MAX_QUICK_RESTARTS) action = "backoff";
    switch (action) {
      case "restart":
        this.#o.log.info({ code }, "WhatsApp asked for a restart; reconnecting");
        this.#connect();
        return;
      case "backoff":
        this.#scheduleReconnect(code);
        return;
      case "logged-out":
        this.#o.log.error(
          { code },
          "WhatsApp logged this device out; the saved credentials were removed. Run `npm run auth -- whatsapp` to link again",
        );
        await this.#halt("logged-out");
        return;
      case "replaced":
        this.#o.log.error(
          { code },
          "Another session took over this WhatsApp connection; the WhatsApp channel stopped. Close the other session and restart nestbox",
        );
        await this.#halt("replaced");
        return;
    }
  }

  #scheduleReconnect(code?: number): void {
    if (this.#timer !== null || this.#isStopped()) return;
    const delay = backoffDelay(this.#attempt++, { ...this.#o.backoff, jitter: 0.25 }, this.#o.random);
    this.#status = "waiting";
    this.#o.log.warn({ code, delayMs: delay }, "WhatsApp disconnected; reconnecting after a delay");
    this.#timer = this.#o.timers.setTimeout(() => {
      this.#timer = null;
      this.#connect();
    }, delay);
  }

  #detach(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    this.#sock = null;
  }

  async #halt(reason: StopReason): Promise<void> {
    if (this.#isStopped()) return;
    this.#status = reason;
    if (this.#timer !== null) this.#o.timers.clearTimeout(this.#timer);
    this.#timer = null;
    const sock = this.#sock;
    this.#detach();
    await sock?.end(undefined).catch(() => undefined);
    const store = this.#store;
    this.#store = null;
    if (store) {
      await store.flush();
      store.close();
    }
    if (reason === "logged-out") await wipeAuthDir(this.#o.authDir);
    if (reason !== "stopped") this.#o.hooks.onStopped(reason);
  }
}
