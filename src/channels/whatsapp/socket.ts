import type { Agent } from "node:http";
import type { Agent as HttpsAgent } from "node:https";
import {
  type AuthenticationState,
  type BaileysEventEmitter,
  type BaileysEventMap,
  Browsers,
  makeWASocket,
  type proto,
  type UserFacingSocketConfig,
  type WAMessageKey,
} from "@whiskeysockets/baileys";

/** baileys' logger interface (a pino logger fits); not exported by the package itself. */
export type BaileysLogger = NonNullable<UserFacingSocketConfig["logger"]>;

/** The slice of a baileys socket the adapter and the auth command use; a fake built on `makeEventBuffer` fits. */
export interface WhatsAppSocket {
  ev: BaileysEventEmitter & {
    /** Batched event subscription; returns the unsubscribe function. */
    process(handler: (events: Partial<BaileysEventMap>) => void | Promise<void>): () => void;
  };
  /** The linked account once logged in: `<number>:<device>@s.whatsapp.net`, with its `lid`. */
  user?: { id: string; lid?: string; name?: string } | undefined;
  /** `messageId` replaces baileys' random id (baileys spreads these options over its defaults). */
  sendMessage(
    jid: string,
    content: { text: string },
    options?: { messageId?: string },
  ): Promise<{ key: WAMessageKey; message?: proto.IMessage | null } | undefined>;
  sendPresenceUpdate(
    type: "composing" | "paused" | "available" | "unavailable",
    toJid?: string,
  ): Promise<void>;
  groupMetadata(jid: string): Promise<{ id: string; subject: string }>;
  requestPairingCode(phoneNumber: string): Promise<string>;
  /** Closes the connection; baileys then emits `connection: "close"` once and drops its listeners. */
  end(error: Error | undefined): Promise<void>;
}

/** What a socket factory receives. */
export interface SocketOptions {
  auth: AuthenticationState;
  logger: BaileysLogger;
  /** Proxy agent for the WebSocket (baileys `agent`). */
  agent?: Agent;
  /** Proxy agent for media up/downloads (baileys `fetchAgent`). */
  fetchAgent?: Agent;
  /** Message content by key, so baileys can answer a recipient's retry request. */
  getMessage?: (key: WAMessageKey) => Promise<proto.IMessage | undefined>;
}

/** Makes one socket per connection attempt; tests inject a fake. */
export type SocketFactory = (options: SocketOptions) => WhatsAppSocket;

/** The real thing: baileys' `makeWASocket`, never marked online so the owner's phone keeps its notifications. */
export const baileysSocketFactory: SocketFactory = (options) =>
  makeWASocket({
    auth: options.auth,
    logger: options.logger,
    // baileys types these as https.Agent; an http.Agent such as https-proxy-agent's works the same.
    agent: options.agent as HttpsAgent | undefined,
    fetchAgent: options.fetchAgent as HttpsAgent | undefined,
    browser: Browsers.macOS("Chrome"),
    markOnlineOnConnect: false,
    syncFullHistory: false,
    ...(options.getMessage ? { getMessage: options.getMessage } : {}),
  });

/** The HTTP-like status code a baileys disconnect error carries (`Boom.output.statusCode`), if any. */
export function disconnectCode(error: unknown): number | undefined {
  const code = (error as { output?: { statusCode?: unknown } } | undefined)?.output?.statusCode;
  return typeof code === "number" ? code : undefined;
}
