// Turning the other side's bytes into trusted frames: seal check (wire.ts), size cap, schema.
import type { z } from "zod";
import {
  type AgentFrame,
  AgentFrameSchema,
  type Frame,
  FrameSchema,
  type HostFrame,
  HostFrameSchema,
} from "./frames.js";
import { FrameOpener, type FrameSide, MAX_FRAME_BYTES, MAX_LINE_BYTES } from "./wire.js";

/** Result of checking and parsing one line: the validated frame, or why it was rejected. */
export type ParseResult<T> =
  | { ok: true; frame: T }
  /** `unauthenticated`: the line's seal failed, so anyone in the container may have written it. */
  | { ok: false; reason: string; unauthenticated?: boolean };

const utf8 = new TextEncoder();

/**
 * Parse one frame JSON line (a trailing "\n" or "\r\n" is allowed) into a frame validated by
 * `schema` (default: any frame). Never throws. The line is the frame alone, its seal already checked.
 */
export function parseFrame(line: string): ParseResult<Frame>;
export function parseFrame<T>(line: string, schema: z.ZodType<T>): ParseResult<T>;
export function parseFrame(line: string, schema: z.ZodType = FrameSchema): ParseResult<unknown> {
  if (typeof line !== "string") return { ok: false, reason: "frame is not a string" };
  const text = line.replace(/\r?\n$/, "");
  // Cheap bound first: a UTF-16 code unit takes at most 3 UTF-8 bytes.
  if (
    text.length > MAX_FRAME_BYTES ||
    (text.length * 3 > MAX_FRAME_BYTES && utf8.encode(text).length > MAX_FRAME_BYTES)
  ) {
    return { ok: false, reason: `frame exceeds ${MAX_FRAME_BYTES} bytes` };
  }
  if (text.trim() === "") return { ok: false, reason: "empty line" };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `not JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    const issues = result.error.issues
      .slice(0, 5)
      .map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`)
      .join("; ");
    return { ok: false, reason: `invalid frame: ${issues}` };
  }
  return { ok: true, frame: result.data };
}

/** Parse a frame the host sent. */
export function parseHostFrame(line: string): ParseResult<HostFrame> {
  return parseFrame(line, HostFrameSchema);
}

/** Parse a frame the agent sent. */
export function parseAgentFrame(line: string): ParseResult<AgentFrame> {
  return parseFrame(line, AgentFrameSchema);
}

/** Options for {@link FrameDecoder}: the schema of the direction read, its key and its sender. */
export interface FrameDecoderOptions<T> {
  schema: z.ZodType<T>;
  key: string;
  from: FrameSide;
}

/**
 * Splits the other side's byte stream into sealed lines, checks each line's seal (FrameOpener) and
 * parses the authentic ones with `schema`. Bounded memory: a line longer than MAX_LINE_BYTES is
 * dropped (up to its newline) and reported once. Rejected lines carry `unauthenticated: true` when
 * their seal failed (anyone in the container may have written them), so callers can count them apart.
 */
export class FrameDecoder<T> {
  readonly #schema: z.ZodType<T>;
  readonly #opener: FrameOpener;
  readonly #decoder = new TextDecoder();
  #buffer = "";
  #discarding = false;

  constructor({ schema, key, from }: FrameDecoderOptions<T>) {
    this.#schema = schema;
    this.#opener = new FrameOpener(key, from);
  }

  /** Feed a chunk; returns the results of the lines it completed (empty lines are skipped). */
  push(chunk: string | Uint8Array): ParseResult<T>[] {
    this.#buffer += typeof chunk === "string" ? chunk : this.#decoder.decode(chunk, { stream: true });
    const results: ParseResult<T>[] = [];
    let start = 0;
    let newline = this.#buffer.indexOf("\n");
    while (newline !== -1) {
      const line = this.#buffer.slice(start, newline);
      start = newline + 1;
      if (this.#discarding) this.#discarding = false;
      else if (line.trim() !== "") results.push(this.#line(line));
      newline = this.#buffer.indexOf("\n", start);
    }
    this.#buffer = this.#buffer.slice(start);
    if (this.#buffer.length > MAX_LINE_BYTES) {
      if (!this.#discarding) results.push(oversized());
      this.#discarding = true;
      this.#buffer = "";
    }
    return results;
  }

  /** Flush at end of stream: a last line without newline is still checked. */
  end(): ParseResult<T>[] {
    this.#buffer += this.#decoder.decode();
    const rest = this.#buffer;
    this.#buffer = "";
    const discarding = this.#discarding;
    this.#discarding = false;
    if (discarding || rest.trim() === "") return [];
    return [this.#line(rest)];
  }

  #line(line: string): ParseResult<T> {
    if (line.length > MAX_LINE_BYTES) return oversized();
    const opened = this.#opener.open(line);
    if (!opened.ok) return { ok: false, reason: opened.reason, unauthenticated: true };
    return parseFrame(opened.json, this.#schema);
  }
}

function oversized(): { ok: false; reason: string; unauthenticated: true } {
  return { ok: false, reason: `line exceeds ${MAX_LINE_BYTES} bytes`, unauthenticated: true };
}
