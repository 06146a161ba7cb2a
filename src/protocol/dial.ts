// Wire pieces of the dial transport (the agent opens a TCP connection to the host), shared by the
// host (src/agents/transport/dial/) and the runner (container/agent-runner/src/dial.ts). Node
// built-ins only: the runner dials before zod is loaded.
//
//   agent -> host  hello <token>                      host -> agent  welcome <frame key> <resume secret>
//   agent -> host  resume <secret> <highest host seq>  host -> agent  resumed <highest agent seq> <new secret>
//   host -> agent  refused <reason>                   (then the host closes)
//
// After `welcome`/`resumed` both sides speak the sealed lines of wire.ts; after a resume each side
// resends, from its bounded replay buffer, the lines it sent with a sequence number above the peer's.

/** Longest handshake line in bytes, newline included. */
export const HANDSHAKE_LINE_MAX = 256;
/** Bytes of sent sealed lines each side keeps for a resume. */
export const REPLAY_BUFFER_BYTES = 8 * 1024 * 1024;

const SEQ = /^([1-9][0-9]{0,15}) /;
const HEX64 = /^[0-9a-f]{64}$/;
const NUM = /^(0|[1-9][0-9]{0,15})$/;

/** The sequence number of a sealed line (the number before its MAC), or null for any other line. */
export function lineSeq(line: string): number | null {
  const m = SEQ.exec(line);
  return m?.[1] ? Number(m[1]) : null;
}

/** A parsed handshake line (either direction), or null when it is not one. */
export type HandshakeLine =
  | { kind: "hello"; token: string }
  | { kind: "resume"; secret: string; seq: number }
  | { kind: "welcome"; key: string; secret: string }
  | { kind: "resumed"; seq: number; secret: string }
  | { kind: "refused"; reason: string };

/** Parses one handshake line (newline stripped); never throws. */
export function parseHandshake(line: string): HandshakeLine | null {
  const parts = line.replace(/\r$/, "").split(" ");
  const [verb, a = "", b = ""] = parts;
  if (verb === "refused") return { kind: "refused", reason: parts.slice(1).join(" ").slice(0, 200) };
  if (verb === "hello" && parts.length === 2 && HEX64.test(a)) return { kind: "hello", token: a };
  if (parts.length !== 3) return null;
  if (verb === "resume" && HEX64.test(a) && NUM.test(b)) return { kind: "resume", secret: a, seq: Number(b) };
  if (verb === "welcome" && HEX64.test(a) && HEX64.test(b)) return { kind: "welcome", key: a, secret: b };
  if (verb === "resumed" && NUM.test(a) && HEX64.test(b))
    return { kind: "resumed", seq: Number(a), secret: b };
  return null;
}

/**
 * Splits a byte stream into complete lines (newline kept). A line longer than `max` bytes is dropped
 * whole (counted in `dropped`) and never held in memory beyond `max`; a partial line stays in `held`.
 */
export class LineSplitter {
  #held: Buffer[] = [];
  #heldBytes = 0;
  #skipping = false;
  dropped = 0;

  constructor(readonly max: number) {}

  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let from = 0;
    for (let nl = chunk.indexOf(10, from); nl !== -1; nl = chunk.indexOf(10, from)) {
      const part = chunk.subarray(from, nl + 1);
      from = nl + 1;
      if (this.#skipping || this.#heldBytes + part.length > this.max) {
        if (!this.#skipping) this.dropped += 1;
        this.#reset();
        continue;
      }
      lines.push(Buffer.concat([...this.#held, part]).toString("utf8"));
      this.#reset();
    }
    const rest = chunk.subarray(from);
    if (rest.length > 0 && !this.#skipping) {
      if (this.#heldBytes + rest.length > this.max) {
        this.dropped += 1;
        this.#reset();
        this.#skipping = true;
      } else {
        this.#held.push(Buffer.from(rest));
        this.#heldBytes += rest.length;
      }
    }
    return lines;
  }

  /** Forgets a partial line (its connection is gone; the sender resends it whole). */
  discardPartial(): void {
    this.#reset();
  }

  #reset(): void {
    this.#held = [];
    this.#heldBytes = 0;
    this.#skipping = false;
  }
}

/**
 * The sealed lines one side sent, newest kept within `maxBytes`, for a resume. Lines without a
 * sequence number (none are sent on purpose) are not kept.
 */
export class ReplayBuffer {
  #lines: { seq: number; line: string }[] = [];
  #bytes = 0;
  #droppedThrough = 0;
  #last = 0;

  constructor(readonly maxBytes = REPLAY_BUFFER_BYTES) {}

  /** The highest sequence number sent. */
  get last(): number {
    return this.#last;
  }

  /** Records every sealed line in `chunk` (one or more lines). */
  push(chunk: string): void {
    for (const line of chunk.split(/(?<=\n)/)) {
      const seq = lineSeq(line);
      if (seq === null || seq <= this.#last) continue;
      this.#last = seq;
      this.#lines.push({ seq, line });
      this.#bytes += line.length;
      while (this.#bytes > this.maxBytes && this.#lines.length > 0) {
        const old = this.#lines.shift() as { seq: number; line: string };
        this.#bytes -= old.line.length;
        this.#droppedThrough = old.seq;
      }
    }
  }

  /** The lines sent with a sequence number above `after`, or null when the buffer cannot serve it. */
  since(after: number): string | null {
    if (after > this.#last || after < this.#droppedThrough) return null;
    return this.#lines
      .filter((l) => l.seq > after)
      .map((l) => l.line)
      .join("");
  }
}
