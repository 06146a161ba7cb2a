// The runner's serve loop: reads sealed host frames from `input`, runs one turn at a time on the
// agent, answers through the FrameWriter. A class over injected streams and an injected agent, so
// its behaviour is unit-tested without Docker (serve.test.ts, and the supervisor through PipeRuntime).
import { randomUUID } from "node:crypto";
import type { Readable } from "node:stream";
import { FrameDecoder } from "../../../src/protocol/decoder.js";
import { AgentErrorCode } from "../../../src/protocol/error-codes.js";
import { type HostFrame, HostFrameSchema, type TurnFrame } from "../../../src/protocol/frames.js";
import type { HostToolName } from "../../../src/protocol/host-tools.js";
import type { FrameWriter } from "./frame-writer.js";
import type { HostToolResult, RunnerAgent, TurnOutcome, TurnSink } from "./runner-agent.js";

/** Options for {@link ServeLoop}. */
export interface ServeLoopOptions {
  /** Host frames (the key line already read); paused until `start`. */
  input: Readable;
  key: string;
  writer: FrameWriter;
  /** The agent; may still be loading (turns wait for it, a failed load fails each turn). */
  agent: Promise<RunnerAgent>;
  /** Longest wait for a cancelled turn to end at shutdown. */
  shutdownGraceMs?: number;
  /** Ignored input lines noticed one by one before they are only counted, per window. */
  ignoredShown?: number;
  ignoredWindowMs?: number;
}

interface RunningTurn {
  turnId: string;
  controller: AbortController;
  done: Promise<void>;
}

interface PendingCall {
  turnId: string;
  resolve: (result: HostToolResult) => void;
}

/** One runner session: frames in, turns on the agent, frames out; `closed` gives the exit code. */
export class ServeLoop {
  readonly #o: Required<ServeLoopOptions>;
  readonly #decoder: FrameDecoder<HostFrame>;
  readonly #pending = new Map<string, PendingCall>();
  #current: RunningTurn | null = null;
  #shuttingDown = false;
  #inputClosed = false;
  #ignored = 0;
  #summaryPending = false;
  #close: (code: number) => void = () => {};
  /** Resolves with the exit code once the loop has shut down and the agent is closed. */
  readonly closed: Promise<number>;

  constructor(options: ServeLoopOptions) {
    this.#o = { shutdownGraceMs: 5000, ignoredShown: 5, ignoredWindowMs: 10_000, ...options };
    this.#decoder = new FrameDecoder({ schema: HostFrameSchema, key: options.key, from: "host" });
    this.closed = new Promise((resolve) => {
      this.#close = resolve;
    });
    this.#o.agent.catch(() => {}); // each turn reports a failed load
  }

  /** The running turn's id, if any. */
  get currentTurnId(): string | null {
    return this.#current?.turnId ?? null;
  }

  /** Starts reading input. */
  start(): void {
    const { input } = this.#o;
    input.on("data", (chunk: Buffer | string) => {
      for (const result of this.#decoder.push(chunk)) {
        if (result.ok) this.#handle(result.frame);
        else this.#ignore(result.reason);
      }
    });
    input.on("end", () => void this.#onEnd());
    input.resume();
  }

  /** Cancels a running turn (waiting up to the grace period), closes the agent, resolves `closed`. */
  async shutdown(code = 0): Promise<void> {
    if (this.#shuttingDown) return;
    this.#shuttingDown = true;
    const running = this.#current;
    if (running) {
      running.controller.abort();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        running.done,
        new Promise((r) => {
          timer = setTimeout(r, this.#o.shutdownGraceMs);
          timer.unref();
        }),
      ]);
      clearTimeout(timer);
    }
    await this.#o.agent.then((agent) => agent.close()).catch(() => {});
    this.#close(code);
  }

  /** Reports an exception nothing else caught, against the running turn if there is one. */
  reportInternal(err: unknown): void {
    const message = String(err instanceof Error ? (err.stack ?? err) : err);
    this.#o.writer.send({
      type: "error",
      turnId: this.currentTurnId,
      code: AgentErrorCode.Internal,
      message,
    });
  }

  #handle(frame: HostFrame): void {
    switch (frame.type) {
      case "turn":
        this.#startTurn(frame);
        return;
      case "tool_result": {
        const call = this.#pending.get(frame.callId);
        if (!call) {
          this.#o.writer.log("warn", `tool_result for unknown call ${frame.callId}`);
          return;
        }
        this.#pending.delete(frame.callId);
        call.resolve({ ok: frame.ok, result: frame.result, error: frame.error });
        return;
      }
      case "cancel":
        if (this.#current?.turnId === frame.turnId) this.#current.controller.abort();
        return;
      case "shutdown":
        return void this.shutdown(0);
    }
  }

  #startTurn(frame: TurnFrame): void {
    const refuse = (code: AgentErrorCode, message: string) =>
      this.#o.writer.send({ type: "error", turnId: frame.turnId, code, message });
    if (this.#shuttingDown) {
      refuse(AgentErrorCode.ShuttingDown, "the runner is shutting down");
      return;
    }
    if (this.#current) {
      refuse(AgentErrorCode.Busy, `turn ${this.#current.turnId} is still running`);
      return;
    }
    const controller = new AbortController();
    const turn: RunningTurn = { turnId: frame.turnId, controller, done: Promise.resolve() };
    this.#current = turn;
    turn.done = this.#runTurn(frame, controller).finally(() => {
      if (this.#current === turn) this.#current = null;
    });
  }

  async #runTurn(frame: TurnFrame, controller: AbortController): Promise<void> {
    const { writer } = this.#o;
    const { turnId } = frame;
    let outcome: TurnOutcome = { sessionId: frame.sessionId, usage: null };
    const sink: TurnSink = {
      reply: (text, final) => writer.send({ type: "reply", turnId, text, final }),
      error: (code, message) => writer.send({ type: "error", turnId, code, message }),
      log: (level, message) => writer.log(level, message),
      callHostTool: (name, args, signal) => this.#callHostTool(turnId, name, args, signal),
    };
    try {
      let agent: RunnerAgent;
      try {
        agent = await this.#o.agent;
      } catch (err) {
        sink.error(AgentErrorCode.RuntimeUnavailable, `the agent runtime failed to load: ${errorText(err)}`);
        return;
      }
      outcome = await agent.runTurn(frame, sink, controller.signal);
    } catch (err) {
      const code = controller.signal.aborted ? AgentErrorCode.Cancelled : AgentErrorCode.TurnFailed;
      sink.error(code, errorText(err));
    } finally {
      for (const [callId, call] of this.#pending) {
        if (call.turnId !== turnId) continue;
        this.#pending.delete(callId);
        call.resolve({ ok: false, error: "the turn ended" });
      }
      writer.send({ type: "turn_end", turnId, sessionId: outcome.sessionId, usage: outcome.usage });
    }
  }

  #callHostTool(
    turnId: string,
    name: HostToolName,
    args: Record<string, unknown>,
    signal: AbortSignal,
  ): Promise<HostToolResult> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve({ ok: false, error: "cancelled" });
      if (this.#inputClosed) return resolve({ ok: false, error: "the host closed the connection" });
      const callId = randomUUID();
      this.#pending.set(callId, { turnId, resolve });
      signal.addEventListener(
        "abort",
        () => {
          if (this.#pending.delete(callId)) resolve({ ok: false, error: "cancelled" });
        },
        { once: true },
      );
      this.#o.writer.send({ type: "tool_call", turnId, callId, name, args });
    });
  }

  /** End of input: let a running turn finish (host tools can no longer answer), then shut down. */
  async #onEnd(): Promise<void> {
    for (const result of this.#decoder.end()) {
      if (result.ok) this.#handle(result.frame);
    }
    this.#inputClosed = true;
    for (const [callId, call] of this.#pending) {
      this.#pending.delete(callId);
      call.resolve({ ok: false, error: "the host closed the connection" });
    }
    await this.#current?.done;
    await this.shutdown(0);
  }

  /**
   * Notices of ignored input lines, bounded: anything in the container may write junk into the input
   * pipe, and one notice per line would turn that into a flood of authentic log frames to the host.
   */
  #ignore(reason: string): void {
    const { ignoredShown, ignoredWindowMs, writer } = this.#o;
    this.#ignored += 1;
    if (this.#ignored <= ignoredShown) {
      writer.log("warn", `ignored input: ${reason}`);
      return;
    }
    if (this.#summaryPending) return;
    this.#summaryPending = true;
    setTimeout(() => {
      writer.log(
        "warn",
        `ignored ${this.#ignored - ignoredShown} more input lines (bad seal or invalid frame)`,
      );
      this.#ignored = 0;
      this.#summaryPending = false;
    }, ignoredWindowMs).unref();
  }
}

/** The message of an error, or the value as text. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
