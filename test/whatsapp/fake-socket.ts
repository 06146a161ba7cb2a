import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { BufferJSON, initAuthCreds, makeEventBuffer, type WAMessage } from "@whiskeysockets/baileys";
import type { Timers } from "../../src/channels/whatsapp/connection.js";
import type { SocketFactory, SocketOptions, WhatsAppSocket } from "../../src/channels/whatsapp/socket.js";
import { silentLogger } from "../../src/log.js";

/** A disconnect error shaped like baileys' Boom (`output.statusCode`). */
export function boom(statusCode: number, message = "Connection Failure"): Error {
  return Object.assign(new Error(message), { isBoom: true, output: { statusCode, payload: { statusCode } } });
}

/** The linked test account. */
export const OWNER = { id: "15550001111:3@s.whatsapp.net", lid: "998877665544:3@lid", name: "Owner" };
export const OWNER_PN = "15550001111@s.whatsapp.net";
export const OWNER_LID = "998877665544@lid";

/** Timers that run only when a test fires them; every scheduled delay is recorded. */
export class ManualTimers implements Timers {
  readonly delays: number[] = [];
  readonly pending = new Map<number, { fn: () => void; ms: number }>();
  #next = 1;

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.#next++;
    this.delays.push(ms);
    this.pending.set(id, { fn, ms });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  /** Runs the pending timer with the shortest delay; returns that delay. */
  fireNext(): number {
    const [id, t] = [...this.pending.entries()].sort((a, b) => a[1].ms - b[1].ms)[0] ?? [];
    if (id === undefined || !t) throw new Error("no timer pending");
    this.pending.delete(id);
    t.fn();
    return t.ms;
  }
}

/** A baileys-like socket around baileys' own event buffer; tests drive the server side. */
export class FakeSocket implements WhatsAppSocket {
  readonly ev = makeEventBuffer(silentLogger());
  user: WhatsAppSocket["user"];
  ended = false;
  isOpen = false;

  constructor(
    readonly world: FakeWhatsApp,
    readonly options: SocketOptions,
  ) {
    // The real socket applies every creds.update to its auth state before the app saves it.
    this.ev.on("creds.update", (update) => Object.assign(options.auth.creds, update));
  }

  connecting(): void {
    this.ev.emit("connection.update", { connection: "connecting", qr: undefined });
  }

  showQr(qr: string): void {
    this.ev.emit("connection.update", { qr });
  }

  /** The phone scanned the QR code (or took the pairing code): WhatsApp hands over the account. */
  pairSuccess(): void {
    this.ev.emit("creds.update", {
      me: { id: this.world.owner.id, name: this.world.owner.name },
      platform: "smba",
    });
    this.ev.emit("connection.update", { isNewLogin: true, qr: undefined });
  }

  open(): void {
    this.isOpen = true;
    this.user = { ...this.world.owner };
    this.ev.emit("creds.update", {
      me: { ...this.options.auth.creds.me, id: this.world.owner.id, lid: this.world.owner.lid },
    });
    this.ev.emit("connection.update", { connection: "open" });
  }

  /** The server closed the connection with a status code (or none). */
  serverClose(code?: number): Promise<void> {
    return this.end(code === undefined ? new Error("Connection Terminated") : boom(code));
  }

  deliver(messages: WAMessage[], type: "notify" | "append" = "notify"): void {
    this.ev.emit("messages.upsert", { messages, type });
  }

  async sendMessage(jid: string, content: { text: string }, options?: { messageId?: string }) {
    if (!this.isOpen) throw boom(428, "Connection Closed");
    if (this.world.refuseSends) throw boom(406, "not-acceptable");
    const id = options?.messageId ?? `SENT${++this.world.sentCount}`;
    this.world.sent.push({ jid, text: content.text });
    this.world.sentIds.push(id);
    if (this.world.timeOutSendsAfterWrite > 0) {
      // Like baileys when its frame write outlives connectTimeoutMs: the server may have the message.
      this.world.timeOutSendsAfterWrite--;
      throw boom(408, "Timed Out");
    }
    return { key: { id, remoteJid: jid, fromMe: true }, message: { conversation: content.text } };
  }

  async sendPresenceUpdate(type: "composing" | "paused" | "available" | "unavailable", toJid?: string) {
    if (!this.isOpen) throw boom(428, "Connection Closed");
    this.world.presences.push({ type, jid: toJid ?? "" });
  }

  async groupMetadata(jid: string) {
    this.world.metadataCalls.push(jid);
    if (this.world.holdMetadata) return new Promise<never>(() => {});
    const subject = this.world.groups.get(jid);
    if (subject === undefined) throw boom(404, "item-not-found");
    return { id: jid, subject };
  }

  async requestPairingCode(phoneNumber: string) {
    this.world.pairingRequests.push(phoneNumber);
    // as baileys does: the account is set (with a placeholder name) before the code is entered
    this.ev.emit("creds.update", {
      me: { id: `${phoneNumber}@s.whatsapp.net`, name: "~" },
      pairingCode: "ABCD1234",
    });
    return "ABCD1234";
  }

  async end(error: Error | undefined): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    this.isOpen = false;
    this.ev.emit("connection.update", { connection: "close", lastDisconnect: { error, date: new Date() } });
    this.ev.removeAllListeners("connection.update");
  }
}

/** The WhatsApp side of the tests: every socket made, every message sent. */
export class FakeWhatsApp {
  readonly sockets: FakeSocket[] = [];
  readonly sent: { jid: string; text: string }[] = [];
  readonly presences: { type: string; jid: string }[] = [];
  readonly groups = new Map<string, string>();
  readonly metadataCalls: string[] = [];
  /** groupMetadata never answers, like a WhatsApp server that does not reply to the query. */
  holdMetadata = false;
  readonly pairingRequests: string[] = [];
  owner = { ...OWNER };
  sentCount = 0;
  /** Message ids of `sent`, in order (the caller's `messageId` when it gave one). */
  readonly sentIds: string[] = [];
  /** The next this-many sends are written, then fail with baileys' 408 "Timed Out". */
  timeOutSendsAfterWrite = 0;
  refuseSends = false;
  /** Open every new socket right away, as a linked account's reconnect would. */
  autoOpen = false;

  readonly factory: SocketFactory = (options) => {
    const sock = new FakeSocket(this, options);
    this.sockets.push(sock);
    if (this.autoOpen) {
      setImmediate(() => {
        sock.connecting();
        sock.open();
      });
    }
    return sock;
  };

  get current(): FakeSocket {
    const s = this.sockets.at(-1);
    if (!s) throw new Error("no socket yet");
    return s;
  }

  live(): FakeSocket[] {
    return this.sockets.filter((s) => !s.ended);
  }

  /** Waits until `count` sockets have been made; returns the last. */
  async socketNumber(count: number): Promise<FakeSocket> {
    for (let i = 0; i < 500 && this.sockets.length < count; i++) await new Promise((r) => setTimeout(r, 2));
    if (this.sockets.length < count)
      throw new Error(`expected ${count} sockets, have ${this.sockets.length}`);
    return this.current;
  }
}

let seq = 0;

/** A baileys-shaped incoming message. */
export function waMessage(
  remoteJid: string,
  message: WAMessage["message"],
  key: Partial<WAMessage["key"]> = {},
  extra: Partial<WAMessage> = {},
): WAMessage {
  return {
    key: { remoteJid, fromMe: false, id: `MSG${++seq}`, ...key },
    message,
    messageTimestamp: 1_700_000_000 + seq,
    pushName: "Alice",
    ...extra,
  };
}

/** Writes a linked account's `creds.json` the way baileys' multi-file auth state does. */
export async function writeLinkedCreds(
  dir: string,
  me: { id: string; lid?: string; name?: string } = OWNER,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  const creds = { ...initAuthCreds(), me, registered: false };
  await writeFile(path.join(dir, "creds.json"), JSON.stringify(creds, BufferJSON.replacer));
}
