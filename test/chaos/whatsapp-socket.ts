// The host side of the WhatsApp bridge: a socket factory for the real WhatsApp adapter whose sockets
// talk to the chaos driver's server over TCP, with baileys' own event buffer. Like baileys, a message's
// receipt goes to the server before the app is told about it.
import { connect, type Socket } from "node:net";
import { createInterface } from "node:readline";
import { makeEventBuffer } from "@whiskeysockets/baileys";
import type { SocketFactory, SocketOptions, WhatsAppSocket } from "../../src/channels/whatsapp/socket.js";
import { silentLogger } from "../../src/log.js";
import { boom, OWNER } from "../whatsapp/fake-socket.js";
import type { BridgeFrame } from "./whatsapp-server.js";

class BridgeSocket implements WhatsAppSocket {
  readonly ev = makeEventBuffer(silentLogger());
  user: WhatsAppSocket["user"];
  readonly #tcp: Socket;
  readonly #acks = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  #req = 0;
  #open = false;
  #ended = false;

  constructor(port: number, options: SocketOptions) {
    this.ev.on("creds.update", (update) => Object.assign(options.auth.creds, update));
    this.#tcp = connect({ port, host: "127.0.0.1" });
    this.#tcp.on("error", () => {});
    setImmediate(() => this.ev.emit("connection.update", { connection: "connecting", qr: undefined }));
    this.#tcp.on("connect", () => {
      this.#open = true;
      this.user = { ...OWNER };
      this.ev.emit("connection.update", { connection: "open" });
    });
    this.#tcp.on("close", () => void this.end(boom(428, "Connection Closed")));
    createInterface({ input: this.#tcp })
      .on("line", (line) => this.#frame(JSON.parse(line) as BridgeFrame))
      .on("error", () => {});
  }

  #frame(frame: BridgeFrame): void {
    if (frame.t === "ack") {
      this.#acks.get(frame.req)?.resolve();
      this.#acks.delete(frame.req);
    } else if (frame.t === "msg") {
      this.#write({ t: "receipt", id: frame.id });
      this.ev.emit("messages.upsert", {
        type: "notify",
        messages: [
          {
            key: { remoteJid: frame.jid, fromMe: false, id: frame.id },
            message: { conversation: frame.text },
            messageTimestamp: frame.ts,
            pushName: "Chaos",
          },
        ],
      });
    }
  }

  #write(frame: BridgeFrame): void {
    if (!this.#tcp.destroyed && this.#tcp.writable) this.#tcp.write(`${JSON.stringify(frame)}\n`);
  }

  async sendMessage(jid: string, content: { text: string }, options?: { messageId?: string }) {
    // Like baileys (`if (!ws.isOpen)`): a socket the server already closed refuses the send, so it
    // is known not sent; only a send written and never acknowledged is ambiguous.
    if (!this.#open || this.#tcp.destroyed || !this.#tcp.writable) throw boom(428, "Connection Closed");
    const id = options?.messageId ?? `HOST${Date.now()}${++this.#req}`;
    const req = ++this.#req;
    await new Promise<void>((resolve, reject) => {
      this.#acks.set(req, { resolve, reject });
      this.#write({ t: "send", req, jid, text: content.text, id });
    });
    return { key: { id, remoteJid: jid, fromMe: true }, message: { conversation: content.text } };
  }

  async sendPresenceUpdate(): Promise<void> {
    if (!this.#open) throw boom(428, "Connection Closed");
  }

  async groupMetadata(): Promise<{ id: string; subject: string }> {
    throw boom(404, "item-not-found");
  }

  async requestPairingCode(): Promise<string> {
    throw new Error("the chaos bridge is already linked");
  }

  async end(error: Error | undefined): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    this.#open = false;
    // Like baileys: a send written but never acknowledged times out (the server may have it).
    for (const a of this.#acks.values()) a.reject(boom(408, "Timed Out"));
    this.#acks.clear();
    this.#tcp.destroy();
    this.ev.emit("connection.update", { connection: "close", lastDisconnect: { error, date: new Date() } });
    this.ev.removeAllListeners("connection.update");
  }
}

/** Sockets that reach the chaos driver's WhatsApp server on `port`. */
export function bridgeSocketFactory(port: number): SocketFactory {
  return (options) => new BridgeSocket(port, options);
}
