import type { Agent } from "node:http";
import type { BaileysEventMap, proto, WAMessage } from "@whiskeysockets/baileys";
import type { Backoff } from "../../backoff.js";
import { ChannelError, ChannelNetworkError, describeError } from "../../errors.js";
import type { Logger } from "../../log.js";
import {
  type Channel,
  type ChannelState,
  chatIdPatterns,
  type InboundHandler,
  type InboundMessage,
  type ReadyHandler,
  type SendOptions,
  splitMessage,
} from "../channel.js";
import { type StopReason, type Timers, WhatsAppConnection } from "./connection.js";
import { isSelfChat, mapInbound, type OwnAccount, ownAccount } from "./inbound.js";
import { sendError, whatsappMessageId } from "./outbound.js";
import { baileysSocketFactory, type SocketFactory, type WhatsAppSocket } from "./socket.js";

/** Configuration for {@link WhatsAppAdapter}; everything comes in here, nothing from the environment. */
export interface WhatsAppAdapterConfig {
  /** baileys multi-file auth state, written by `npm run auth -- whatsapp` (usually `data/auth/whatsapp`). */
  authDir: string;
  assistantName: string;
  log: Logger;
  /** Makes the socket; baileys' `makeWASocket` by default. */
  socketFactory?: SocketFactory;
  /** Proxy for the WebSocket and media (`agent` and `fetchAgent`); WhatsApp's hosts must not be TLS-intercepted. */
  proxyAgent?: Agent;
  /** Whether the owner's self-chat is the registered main chat (or its chat id): only then are own messages read. */
  selfChatIsMain?: ((chatId: string) => boolean) | string;
  /**
   * Start each reply with `<assistantName>: `, since the bot speaks with its owner's number. Own messages
   * carrying the prefix are never read back. Default true.
   */
  prefixReplies?: boolean;
  random?: () => number;
  now?: () => number;
  timers?: Timers;
  backoff?: Partial<Backoff>;
  /** How long `start()` waits for the first connection; after that it resolves and reconnects go on. Default 30 s. */
  startTimeoutMs?: number;
  /** Level of baileys' own logs (default `warn`). */
  baileysLogLevel?: string;
}

/** WhatsApp's own limit is far higher; this keeps replies readable on a phone. */
const MESSAGE_LIMIT = 4000;
const REMEMBERED = 512;
const STOP_ERRORS: Record<Exclude<StopReason, "stopped">, [string, string]> = {
  "logged-out": [
    "WHATSAPP_LOGGED_OUT",
    "WhatsApp logged this device out: run `npm run auth -- whatsapp` to link again",
  ],
  replaced: [
    "WHATSAPP_REPLACED",
    "another session took over this WhatsApp connection: close it and restart nestbox",
  ],
  "not-linked": ["WHATSAPP_NOT_LINKED", "WhatsApp is not linked: run `npm run auth -- whatsapp` first"],
};

const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** Keeps the last `max` entries. */
class Recent<V> extends Map<string, V> {
  constructor(private readonly max: number) {
    super();
  }
  remember(key: string, value: V): void {
    this.set(key, value);
    if (this.size > this.max) this.delete(this.keys().next().value as string);
  }
}

/** The WhatsApp channel: one linked account, reached through baileys. */
export class WhatsAppAdapter implements Channel {
  readonly name = "whatsapp";
  /** Every send carries the outbox row's message id, and WhatsApp shows an id once. */
  readonly resendsShowOnce = true;
  readonly #c: WhatsAppAdapterConfig;
  readonly #conn: WhatsAppConnection;
  readonly #timers: Timers;
  readonly #prefix: string;
  #own: OwnAccount = {};
  #inbound: InboundHandler | null = null;
  #ready: ReadyHandler | null = null;
  #chain: Promise<void> = Promise.resolve();
  readonly #groupNames = new Map<string, string>();
  readonly #groupFetches = new Map<string, Promise<string | undefined>>();
  /** Messages this adapter sent, for baileys' retry requests and to never read them back. */
  readonly #sent = new Recent<proto.IMessage | undefined>(REMEMBERED);
  readonly #seen = new Recent<true>(REMEMBERED);
  #startWaiter: { resolve: () => void; reject: (err: Error) => void; timer: unknown } | null = null;
  #started: Promise<void> | null = null;
  /** Why the connection stopped for good (logged out, replaced, not linked, stopped); null while it lives. */
  #down: string | null = null;

  constructor(config: WhatsAppAdapterConfig) {
    this.#c = config;
    this.#timers = config.timers ?? realTimers;
    this.#prefix = config.prefixReplies === false ? "" : `${config.assistantName}: `;
    this.#conn = new WhatsAppConnection({
      authDir: config.authDir,
      log: config.log,
      socketFactory: config.socketFactory ?? baileysSocketFactory,
      ...(config.proxyAgent ? { proxyAgent: config.proxyAgent } : {}),
      getMessage: async (key) => (key.id ? this.#sent.get(key.id) : undefined),
      random: config.random ?? Math.random,
      timers: this.#timers,
      backoff: { baseMs: 2000, maxMs: 60_000, ...config.backoff },
      ...(config.baileysLogLevel ? { baileysLogLevel: config.baileysLogLevel } : {}),
      hooks: {
        onEvents: (events, sock) => this.#onEvents(events, sock),
        onOpen: (sock) => this.#onOpen(sock),
        onStopped: (reason) => this.#onStopped(reason),
      },
    });
  }

  ownsChatId(chatId: string): boolean {
    return chatIdPatterns.whatsapp.test(chatId);
  }

  state(): ChannelState {
    if (this.#down) return `down: ${this.#down}`;
    return this.#conn.openSocket ? "connected" : "connecting";
  }

  onInbound(handler: InboundHandler): void {
    this.#inbound = handler;
  }

  onReady(handler: ReadyHandler): void {
    this.#ready = handler;
  }

  /**
   * Connects with the saved credentials. Resolves on the first open connection (or after
   * `startTimeoutMs`, reconnecting on); rejects with a ChannelError when the device is not linked,
   * logged out or replaced.
   */
  start(): Promise<void> {
    if (this.#started) return this.#started;
    this.#started = new Promise<void>((resolve, reject) => {
      const timer = this.#timers.setTimeout(() => {
        this.#c.log.warn("WhatsApp has not connected yet; replies wait in the outbox until it does");
        this.#settleStart();
      }, this.#c.startTimeoutMs ?? 30_000);
      this.#startWaiter = { resolve, reject, timer };
    });
    this.#conn.start().catch((err) => {
      this.#down = describeError(err);
      this.#settleStart(new ChannelError("whatsapp", "WHATSAPP_START", describeError(err), { cause: err }));
    });
    return this.#started;
  }

  async send(chatId: string, text: string, options?: SendOptions): Promise<void> {
    if (!this.ownsChatId(chatId)) {
      throw new ChannelError("whatsapp", "WHATSAPP_BAD_CHAT", `"${chatId}" is not a WhatsApp chat id`);
    }
    const sock = this.#conn.openSocket;
    if (!sock) {
      throw new ChannelNetworkError(
        "whatsapp",
        "WHATSAPP_DISCONNECTED",
        "WhatsApp is not connected; retry after it reconnects",
      );
    }
    const body = this.#prefix && text.startsWith(this.#prefix) ? text.slice(this.#prefix.length) : text;
    const chunks = splitMessage(body, MESSAGE_LIMIT - this.#prefix.length);
    for (const [index, chunk] of chunks.entries()) {
      if (index < (options?.skipChunks ?? 0)) continue;
      const messageId = options?.idempotencyKey
        ? whatsappMessageId(options.idempotencyKey, index)
        : undefined;
      try {
        const sent = await sock.sendMessage(
          chatId,
          { text: this.#prefix + chunk },
          messageId ? { messageId } : {},
        );
        if (sent?.key.id) this.#sent.remember(sent.key.id, sent.message ?? undefined);
        options?.onChunkSent?.(index + 1);
      } catch (err) {
        throw sendError(err, chatId, this.#conn.openSocket !== sock);
      }
    }
  }

  /** "composing" while a turn runs, "paused" after; best effort, so failures are only logged. */
  async setTyping(chatId: string, active: boolean): Promise<void> {
    const sock = this.#conn.openSocket;
    if (!sock || !this.ownsChatId(chatId)) return;
    try {
      await sock.sendPresenceUpdate(active ? "composing" : "paused", chatId);
    } catch (err) {
      this.#c.log.debug({ err, chatId }, "WhatsApp presence update failed");
    }
  }

  async stop(): Promise<void> {
    this.#down ??= "stopped";
    await this.#conn.stop();
    this.#settleStart();
    await this.#chain;
  }

  #settleStart(err?: Error): void {
    const waiter = this.#startWaiter;
    if (!waiter) return;
    this.#startWaiter = null;
    this.#timers.clearTimeout(waiter.timer);
    if (err) waiter.reject(err);
    else waiter.resolve();
  }

  #onOpen(sock: WhatsAppSocket): void {
    this.#own = ownAccount(sock.user);
    this.#settleStart();
    try {
      this.#ready?.();
    } catch (err) {
      this.#c.log.error({ err }, "WhatsApp ready handler failed");
    }
  }

  #onStopped(reason: Exclude<StopReason, "stopped">): void {
    const [code, message] = STOP_ERRORS[reason];
    this.#down = message;
    this.#settleStart(new ChannelError("whatsapp", code, message));
  }

  #onEvents(events: Partial<BaileysEventMap>, sock: WhatsAppSocket): void {
    for (const g of [...(events["groups.upsert"] ?? []), ...(events["groups.update"] ?? [])]) {
      if (g.id && g.subject) this.#groupNames.set(g.id, g.subject);
    }
    const upsert = events["messages.upsert"];
    if (upsert?.type !== "notify") return;
    for (const msg of upsert.messages) {
      this.#chain = this.#chain.then(() => this.#handle(msg, sock));
    }
  }

  async #handle(msg: WAMessage, sock: WhatsAppSocket): Promise<void> {
    try {
      const m = mapInbound(msg, {
        own: this.#own,
        now: this.#c.now ?? Date.now,
        replyPrefix: this.#prefix || undefined,
      });
      if (!m || !this.#accepts(m)) return;
      const seenKey = `${m.chatId}/${m.messageId}`;
      if (this.#seen.has(seenKey)) return;
      this.#seen.remember(seenKey, true);
      if (m.isGroup) {
        const chatName = await this.#boundedGroupName(m.chatId, sock);
        if (chatName) m.chatName = chatName;
      }
      await this.#inbound?.(m);
    } catch (err) {
      this.#c.log.error({ err, messageId: msg.key.id }, "handling a WhatsApp message failed");
    }
  }

  /** Own messages count only in the owner's self-chat registered as main, and never the bot's replies. */
  #accepts(m: InboundMessage): boolean {
    if (!m.fromMe) return true;
    if (this.#sent.has(m.messageId) || (this.#prefix && m.text.startsWith(this.#prefix))) return false;
    if (!isSelfChat(m.chatId, this.#own)) return false;
    const main = this.#c.selfChatIsMain;
    return typeof main === "function" ? main(m.chatId) : main === m.chatId;
  }

  /**
   * The group's name, waiting at most GROUP_NAME_WAIT_MS: baileys has already sent the delivery receipt,
   * so every moment this message (and those behind it) waits unstored, a crash loses them.
   */
  #boundedGroupName(jid: string, sock: WhatsAppSocket): Promise<string | undefined> {
    const fetching = this.#groupName(jid, sock);
    let timer: unknown;
    const timeout = new Promise<undefined>((resolve) => {
      timer = this.#timers.setTimeout(() => resolve(undefined), GROUP_NAME_WAIT_MS);
    });
    return Promise.race([fetching, timeout]).finally(() => this.#timers.clearTimeout(timer));
  }

  #groupName(jid: string, sock: WhatsAppSocket): Promise<string | undefined> {
    const cached = this.#groupNames.get(jid);
    if (cached) return Promise.resolve(cached);
    let fetching = this.#groupFetches.get(jid);
    if (!fetching) {
      fetching = sock
        .groupMetadata(jid)
        .then((meta) => {
          if (meta.subject) this.#groupNames.set(jid, meta.subject);
          return meta.subject || undefined;
        })
        .catch((err) => {
          this.#c.log.debug({ err, jid }, "fetching WhatsApp group metadata failed");
          return undefined;
        })
        .finally(() => this.#groupFetches.delete(jid));
      this.#groupFetches.set(jid, fetching);
    }
    return fetching;
  }
}

/** How long a group message waits for its group's name before it is stored without one. */
const GROUP_NAME_WAIT_MS = 1500;

/** Makes the WhatsApp channel; wire it in `main.ts` when `hasRegisteredCredentials(authDir)` is true. */
export function createWhatsAppAdapter(config: WhatsAppAdapterConfig): WhatsAppAdapter {
  return new WhatsAppAdapter(config);
}
