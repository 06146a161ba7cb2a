// Wire form of the host <-> agent protocol: every frame line is authenticated.
//
//   <seq> <mac> <json>\n     mac = hex HMAC-SHA256(key, "<from>\n<seq>\n<json>")
//
// `key` is a random per-container secret the host writes as the very first stdin line ("key <hex>"),
// before the container starts, so it is in the pipe before any tool process can exist; it never
// travels through the environment (/proc/1/environ is readable by the agent's user). `from` ("host"
// or "agent") binds a line to its direction, so a frame read from one pipe cannot be replayed into
// the other; `seq` rises strictly per direction, so a captured line cannot be replayed or reordered.
// Only node:crypto here: the runner seals `ready` before zod is loaded (frames.ts needs zod).
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/** The side that sealed a line. */
export type FrameSide = "host" | "agent";

/** Longest accepted frame JSON in bytes (UTF-8, without seal and newline). Longer lines are rejected. */
export const MAX_FRAME_BYTES = 1024 * 1024;
/** Longest accepted wire line: the frame plus its seal (sequence number, MAC, two spaces). */
export const MAX_LINE_BYTES = MAX_FRAME_BYTES + 96;

const KEY_LINE = /^key ([0-9a-f]{64})\r?$/;
const SEALED = /^([1-9][0-9]{0,15}) ([0-9a-f]{64}) /;
const utf8 = new TextEncoder();

/** A fresh random frame key (32 bytes, hex). */
export function createFrameKey(): string {
  return randomBytes(32).toString("hex");
}

/** The first stdin line that hands the runner its key. */
export function encodeKeyLine(key: string): string {
  if (!/^[0-9a-f]{64}$/.test(key)) throw new RangeError("a frame key is 64 hex digits");
  return `key ${key}\n`;
}

/** The key from a key line (without or with its newline), or null when the line is not one. */
export function parseKeyLine(line: string): string | null {
  const m = KEY_LINE.exec(String(line).replace(/\n$/, ""));
  return m?.[1] ?? null;
}

/**
 * Serialize a frame as one JSON line ending in "\n" (unsealed). Throws a RangeError when the JSON
 * would exceed MAX_FRAME_BYTES (the other side would reject it).
 */
export function encodeFrame(frame: object): string {
  const json = JSON.stringify(frame);
  if (json.length * 3 > MAX_FRAME_BYTES && utf8.encode(json).length > MAX_FRAME_BYTES) {
    const type = (frame as { type?: unknown }).type;
    throw new RangeError(`frame of type ${String(type)} exceeds ${MAX_FRAME_BYTES} bytes`);
  }
  return `${json}\n`;
}

function mac(key: Buffer, from: FrameSide, seq: number | string, json: string): Buffer {
  return createHmac("sha256", key).update(`${from}\n${seq}\n${json}`).digest();
}

/** Seals the frames one side sends: each gets the next sequence number and its MAC. */
export class FrameSealer {
  readonly #key: Buffer;
  readonly #from: FrameSide;
  #seq = 0;

  constructor(key: string, from: FrameSide) {
    this.#key = Buffer.from(key, "hex");
    this.#from = from;
  }

  /** One sealed wire line for `frame`. Throws a RangeError (and uses no number) when it is too large. */
  seal(frame: object): string {
    const json = encodeFrame(frame).slice(0, -1);
    const seq = ++this.#seq;
    return `${seq} ${mac(this.#key, this.#from, seq, json).toString("hex")} ${json}\n`;
  }
}

/** What {@link FrameOpener.open} makes of one line. */
export type OpenedLine = { ok: true; json: string } | { ok: false; reason: string };

/** Checks the lines the other side sent: right MAC, and a sequence number above every one seen. */
export class FrameOpener {
  readonly #key: Buffer;
  readonly #from: FrameSide;
  #last = 0;

  constructor(key: string, from: FrameSide) {
    this.#key = Buffer.from(key, "hex");
    this.#from = from;
  }

  /** The frame JSON of an authentic line (newline stripped), or why the line is not trusted. Never throws. */
  open(line: string): OpenedLine {
    const text = String(line).replace(/\r?\n$/, "");
    const m = SEALED.exec(text);
    if (!m?.[1] || !m[2]) return { ok: false, reason: "unauthenticated line (no seal)" };
    const seq = Number(m[1]);
    const json = text.slice(m[0].length);
    const expected = mac(this.#key, this.#from, m[1], json);
    if (!timingSafeEqual(expected, Buffer.from(m[2], "hex"))) {
      return { ok: false, reason: "unauthenticated line (bad MAC)" };
    }
    if (seq <= this.#last) {
      return { ok: false, reason: `replayed or reordered line (seq ${seq} after ${this.#last})` };
    }
    this.#last = seq;
    return { ok: true, json };
  }
}
