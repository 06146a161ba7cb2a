// WhatsApp's server side for the chaos suite, in the driver process (it outlives the host's
// SIGKILLs): messages wait here until a host's socket sends their receipt (as baileys does, before
// the app sees them); a reply is shown once per message id, as WhatsApp shows a resent id once.

import type { AddressInfo } from "node:net";
import { createServer, type Server, type Socket } from "node:net";
import { createInterface } from "node:readline";

/** A frame on the bridge (newline-delimited JSON). */
export type BridgeFrame =
  | { t: "msg"; id: string; jid: string; text: string; ts: number }
  | { t: "receipt"; id: string }
  | { t: "send"; req: number; jid: string; text: string; id: string }
  | { t: "ack"; req: number };

export class WhatsAppServerDouble {
  /** Messages no host acknowledged yet: offered to every new connection. */
  readonly #pending = new Map<string, Extract<BridgeFrame, { t: "msg" }>>();
  /** What recipients see: one entry per message id, in order. */
  readonly #shown = new Map<string, { jid: string; text: string; at: number }>();
  /** Every send frame received (resends with the same id included). */
  sends = 0;
  receipts = 0;
  /** The next this-many sends are stored, then the connection drops before the ack. */
  dropAfterStore = 0;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #n = 0;

  constructor() {
    this.#server = createServer((socket) => this.#connected(socket));
  }

  async start(): Promise<number> {
    await new Promise<void>((r) => this.#server.listen(0, "127.0.0.1", r));
    return (this.#server.address() as AddressInfo).port;
  }

  /** A user writes `text` in the direct chat `jid`. */
  push(jid: string, text: string): void {
    const frame = {
      t: "msg" as const,
      id: `CHAOS${++this.#n}`,
      jid,
      text,
      ts: Math.floor(Date.now() / 1000),
    };
    this.#pending.set(frame.id, frame);
    for (const s of this.#sockets) write(s, frame);
  }

  shown(): { jid: string; text: string; at: number }[] {
    return [...this.#shown.values()];
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((r) => this.#server.close(() => r()));
  }

  #connected(socket: Socket): void {
    this.#sockets.add(socket);
    socket.on("close", () => this.#sockets.delete(socket));
    socket.on("error", () => {});
    for (const frame of this.#pending.values()) write(socket, frame);
    createInterface({ input: socket }).on("line", (line) => {
      const frame = JSON.parse(line) as BridgeFrame;
      if (frame.t === "receipt") {
        this.receipts += 1;
        this.#pending.delete(frame.id);
      } else if (frame.t === "send") {
        this.sends += 1;
        if (!this.#shown.has(frame.id))
          this.#shown.set(frame.id, { jid: frame.jid, text: frame.text, at: Date.now() });
        if (this.dropAfterStore > 0) {
          this.dropAfterStore -= 1;
          socket.destroy();
          return;
        }
        write(socket, { t: "ack", req: frame.req });
      }
    });
  }
}

function write(socket: Socket, frame: BridgeFrame): void {
  if (!socket.destroyed) socket.write(`${JSON.stringify(frame)}\n`);
}
