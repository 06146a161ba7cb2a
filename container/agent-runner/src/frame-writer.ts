// The runner's sending side: seals every frame (wire.ts) and writes it to the host. Loaded before
// zod, so `ready` and a configuration error can go out at once.
import { AgentErrorCode } from "../../../src/protocol/error-codes.js";
import type { AgentFrame, LogFrame } from "../../../src/protocol/frames.js";
import { FrameSealer } from "../../../src/protocol/wire.js";
import type { WriteLine } from "./protocol-fds.js";

/** Seals and sends agent frames; never throws. */
export class FrameWriter {
  readonly #sealer: FrameSealer;
  readonly #write: WriteLine;

  constructor(key: string, write: WriteLine) {
    this.#sealer = new FrameSealer(key, "agent");
    this.#write = write;
  }

  /** Send one frame; one too large to send becomes a `frame_too_large` error of the same turn. */
  send(frame: AgentFrame): void {
    let line: string;
    try {
      line = this.#sealer.seal(frame);
    } catch (err) {
      line = this.#sealer.seal({
        type: "error",
        turnId: "turnId" in frame ? frame.turnId : null,
        code: AgentErrorCode.FrameTooLarge,
        message: String(err).slice(0, 500),
      } satisfies AgentFrame);
    }
    this.#write(line);
  }

  /** A `log` frame for the host's log. */
  log(level: LogFrame["level"], message: string): void {
    this.send({ type: "log", level, message });
  }

  /** Calls `callback` once everything sent so far is written (before the process exits). */
  flush(callback: () => void): void {
    this.#write("", callback);
  }
}
