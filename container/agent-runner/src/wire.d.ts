// Types for wire.js (hand-written, like protocol.d.ts). Keep in step with wire.js.

/** The side that sealed a line. */
export type FrameSide = "host" | "agent";

/** Longest accepted frame JSON in bytes (UTF-8, without seal and newline). Longer lines are rejected. */
export declare const MAX_FRAME_BYTES: number;
/** Longest accepted wire line: the frame plus its seal (sequence number, MAC, two spaces). */
export declare const MAX_LINE_BYTES: number;

/** A fresh random frame key (32 bytes, hex). */
export declare function createFrameKey(): string;
/** The first stdin line that hands the runner its key. */
export declare function encodeKeyLine(key: string): string;
/** The key from a key line (without or with its newline), or null when the line is not one. */
export declare function parseKeyLine(line: string): string | null;
/**
 * Serialize a frame as one JSON line ending in "\n" (unsealed). Throws a RangeError when the JSON
 * would exceed MAX_FRAME_BYTES (the other side would reject it).
 */
export declare function encodeFrame(frame: object): string;

/** Seals the frames one side sends: each gets the next sequence number and its MAC. */
export declare class FrameSealer {
  constructor(key: string, from: FrameSide);
  /** One sealed wire line for `frame`. Throws a RangeError (and uses no number) when it is too large. */
  seal(frame: object): string;
}

/** Checks the lines the other side sent: right MAC, and a sequence number above every one seen. */
export declare class FrameOpener {
  constructor(key: string, from: FrameSide);
  /** The frame JSON of an authentic line (newline stripped), or why the line is not trusted. Never throws. */
  open(line: string): { ok: true; json: string } | { ok: false; reason: string };
}
