// The runner's end of the dial transport (src/protocol/dial.ts): instead of reading the protocol
// from its attached stdio, the runner connects to the host (NESTBOX_DIAL_ADDRESS), says `hello`
// with its single-use token and gets the frame key back. A dropped connection is resumed with
// backoff for up to `offlineMs` (the host resends what was lost, so does the runner from its replay
// buffer); after that the runner gives up (main.ts exits 3: a runner never outlives its host).
// Node built-ins only: this runs before zod is loaded. Node opens sockets close-on-exec, so no
// process the runner starts inherits the connection.
import { connect, type Socket } from "node:net";
import { PassThrough, type Readable } from "node:stream";
import {
  HANDSHAKE_LINE_MAX,
  type HandshakeLine,
  LineSplitter,
  lineSeq,
  parseHandshake,
  ReplayBuffer,
} from "../../../src/protocol/dial.js";
import { MAX_LINE_BYTES } from "../../../src/protocol/wire.js";
import type { WriteLine } from "./protocol-fds.js";

/** Options for {@link dialHost}. */
export interface DialOptions {
  /** `host:port` of the host's dial server. */
  address: string;
  /** The single-use token from NESTBOX_DIAL_TOKEN. */
  token: string;
  /** Called once when the host is gone for good (refused a resume, or unreachable for `offlineMs`). */
  onLost: (reason: string) => void;
  /** How long the runner keeps trying to reach its host (first dial and each resume). */
  offlineMs?: number;
  handshakeTimeoutMs?: number;
  /** Notes for the runner's stderr. */
  note?: (message: string) => void;
}

/** The protocol as the runner's serve loop uses it, over a dialled connection. */
export interface DialedHost {
  key: string;
  /** Sealed host lines, continuous across reconnects (paused until read). */
  input: Readable;
  write: WriteLine;
  /** Ends the connection for good (no resume). */
  close(): void;
  /** The current connection (tests cut it). */
  readonly socket: Socket | null;
}

/** The host answered `refused`: this token or secret will never work. */
export class DialRefusedError extends Error {
  override readonly name = "DialRefusedError";
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Connects, handshakes with `hello`, and keeps the link up (resuming) until the host is gone. */
export async function dialHost(options: DialOptions): Promise<DialedHost> {
  const o = { offlineMs: 20_000, handshakeTimeoutMs: 10_000, note: () => {}, ...options };
  const sep = o.address.lastIndexOf(":");
  const host = o.address.slice(0, sep).replace(/^\[|\]$/g, "");
  const port = Number(o.address.slice(sep + 1));
  if (sep <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new DialRefusedError(`NESTBOX_DIAL_ADDRESS is not host:port: ${o.address}`);
  }
  const input = new PassThrough();
  const sent = new ReplayBuffer();
  const splitter = new LineSplitter(MAX_LINE_BYTES + 1);
  const flushes: (() => void)[] = [];
  let socket: Socket | null = null;
  let secret = "";
  let highestIn = 0;
  let closed = false;

  const receive = (chunk: Buffer) => {
    for (const line of splitter.push(chunk)) {
      const seq = lineSeq(line);
      if (seq !== null) {
        if (seq <= highestIn) continue;
        highestIn = seq;
      }
      input.write(line);
    }
  };
  const lose = (reason: string) => {
    if (closed) return;
    closed = true;
    socket?.destroy();
    socket = null;
    for (const f of flushes.splice(0)) f();
    o.onLost(reason);
  };
  const live = (s: Socket, replay: string, rest: Buffer) => {
    socket = s;
    splitter.discardPartial();
    if (rest.length > 0) receive(rest);
    s.setKeepAlive(true, 5000);
    s.setNoDelay(true);
    if (replay) s.write(replay);
    for (const f of flushes.splice(0)) s.write("", f);
    s.on("data", (chunk: Buffer) => {
      if (socket === s) receive(chunk);
    });
    s.resume();
    s.on("close", () => {
      if (socket !== s || closed) return;
      socket = null;
      o.note("nestbox runner: the connection to the host dropped; resuming");
      void reconnect();
    });
  };
  const attempt = async (line: string): Promise<{ s: Socket; reply: HandshakeLine; rest: Buffer }> => {
    const deadline = Date.now() + o.offlineMs;
    for (let delay = 100; ; delay = Math.min(delay * 2, 2000)) {
      try {
        return await handshake(host, port, line, o.handshakeTimeoutMs);
      } catch (err) {
        if (err instanceof DialRefusedError || closed || Date.now() + delay > deadline) throw err;
        await sleep(delay);
      }
    }
  };
  const reconnect = async () => {
    try {
      const { s, reply, rest } = await attempt(`resume ${secret} ${highestIn}\n`);
      if (closed) return void s.destroy();
      if (reply.kind !== "resumed") throw new DialRefusedError(`unexpected handshake reply ${reply.kind}`);
      const replay = sent.since(reply.seq);
      if (replay === null) {
        s.destroy();
        throw new DialRefusedError(`the host asked for lines after ${reply.seq}, which cannot be replayed`);
      }
      secret = reply.secret;
      live(s, replay, rest);
    } catch (err) {
      lose(`cannot resume the link to the host: ${(err as Error).message}`);
    }
  };

  const first = await attempt(`hello ${o.token}\n`);
  if (first.reply.kind !== "welcome") {
    first.s.destroy();
    throw new DialRefusedError(`unexpected handshake reply ${first.reply.kind}`);
  }
  secret = first.reply.secret;
  live(first.s, "", first.rest);
  return {
    key: first.reply.key,
    input,
    write: (chunk, callback) => {
      if (closed) return void callback?.();
      if (chunk) sent.push(chunk);
      if (socket) socket.write(chunk, callback);
      else if (callback) flushes.push(callback);
    },
    close: () => {
      closed = true;
      socket?.destroy();
      socket = null;
    },
    get socket() {
      return socket;
    },
  };
}

/** One connection and its handshake line; rejects on a refusal (DialRefusedError), a network error or a timeout. */
function handshake(
  host: string,
  port: number,
  line: string,
  timeoutMs: number,
): Promise<{ s: Socket; reply: HandshakeLine; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port });
    let head = Buffer.alloc(0);
    const fail = (err: Error) => {
      clearTimeout(timer);
      s.destroy();
      reject(err);
    };
    const timer = setTimeout(() => fail(new Error("no handshake reply in time")), timeoutMs);
    s.on("error", (err) => fail(err));
    s.on("close", () => fail(new Error("the host closed the connection during the handshake")));
    s.once("connect", () => s.write(line));
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const nl = head.indexOf(10);
      if (nl === -1) {
        if (head.length >= HANDSHAKE_LINE_MAX) fail(new DialRefusedError("handshake reply too long"));
        return;
      }
      clearTimeout(timer);
      s.off("data", onData);
      s.removeAllListeners("close");
      s.removeAllListeners("error");
      s.on("error", () => {});
      const reply = parseHandshake(head.subarray(0, nl).toString("latin1"));
      if (reply?.kind === "refused" && reply.reason === "busy") {
        // The host has too many connections in handshake (maybe a flood): try again later.
        s.destroy();
        return reject(new Error("the host is busy"));
      }
      if (!reply || reply.kind === "refused") {
        s.destroy();
        return reject(
          new DialRefusedError(`the host refused: ${reply?.kind === "refused" ? reply.reason : "bad reply"}`),
        );
      }
      // Paused until the caller listens (live() resumes it), so no byte after the reply is missed.
      s.pause();
      resolve({ s, reply, rest: head.subarray(nl + 1) });
    };
    s.on("data", onData);
  });
}
