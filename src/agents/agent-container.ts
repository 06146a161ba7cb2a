import type { ContainerRuntime, ContainerSpec } from "../containers/container-runtime.js";
import { AgentError } from "../errors.js";
import type { Logger } from "../log.js";
import {
  type AgentFrame,
  AgentFrameSchema,
  createFrameKey,
  FrameDecoder,
  FrameSealer,
  type HostFrame,
  type ToolCallFrame,
  TURN_REFUSALS,
} from "../protocol/index.js";
import { AgentLogGate, type AgentLogLimits } from "./agent-log.js";
import type { AgentEvent } from "./agent-runtime.js";
import { AsyncQueue } from "./async-queue.js";
import { AttachTransport } from "./transport/attach.js";
import type { AgentLink, AgentTransport, TransportTicket } from "./transport/transport.js";

/** The container exited (or was killed) while it was needed, or its dialled connection was lost. */
export class AgentCrashedError extends AgentError {
  override readonly name = "AgentCrashedError";
  constructor(
    readonly exitCode: number,
    stderrTail: string,
    /** Set when the link was lost (the container was then killed): why. */
    readonly lostReason: string | null = null,
  ) {
    super(
      "AGENT_CRASHED",
      lostReason
        ? `the connection to the agent was lost (${lostReason}), so its container was killed`
        : `the agent container exited with code ${exitCode}${stderrTail ? `: ${stderrTail.trim().split("\n").at(-1)}` : ""}`,
    );
  }
}

/** Answers a host tool call; the result text goes back to the agent. */
export type ToolHandler = (call: ToolCallFrame) => Promise<string>;

interface ActiveTurn {
  turnId: string;
  queue: AsyncQueue<AgentEvent>;
  /** An `error` frame of an accepted turn; raised once its `turn_end` arrives (the runner is then free). */
  error: AgentError | null;
  /** Call ids of this turn's host tool calls (answered or not): a call id is used once. */
  calls: Set<string>;
  /** Calls still being answered. */
  pending: number;
}

/** Host tool calls one turn may have outstanding at once; the runner makes them one at a time. */
const MAX_PENDING_CALLS = 4;
/** Host tool calls one turn may make in all. */
const MAX_CALLS_PER_TURN = 200;

/**
 * One running agent container and the line protocol over its transport's link (attached stdio,
 * or a connection the agent dialled). Every line is sealed
 * with a per-container key (src/protocol/wire.ts); lines whose seal fails, and frames
 * that are not valid (or too large), are ignored, never trusted, and logged within a rate limit.
 */
export class AgentContainer {
  id = "";
  readonly name: string;
  exitCode: number | null = null;
  readonly #runtime: ContainerRuntime;
  readonly #spec: ContainerSpec;
  readonly #log: Logger;
  readonly #onTool: ToolHandler;
  readonly #transport: AgentTransport;
  #ticket: TransportTicket | null = null;
  #link: AgentLink | null = null;
  #closing = false;
  #turn: ActiveTurn | null = null;
  #ready: { resolve: () => void; reject: (e: unknown) => void } | null = null;
  #stderrTail = "";
  #exited: Promise<number> | null = null;
  readonly #key = createFrameKey();
  readonly #sealer = new FrameSealer(this.#key, "host");
  readonly #gate: AgentLogGate;

  constructor(
    runtime: ContainerRuntime,
    spec: ContainerSpec,
    log: Logger,
    onTool: ToolHandler,
    logLimits: AgentLogLimits = {},
    transport: AgentTransport = new AttachTransport(runtime),
  ) {
    this.#runtime = runtime;
    this.#transport = transport;
    this.#spec = spec;
    this.name = spec.name;
    this.#log = log.child({ container: spec.name });
    this.#onTool = onTool;
    this.#gate = new AgentLogGate(this.#log, logLimits);
  }

  /** Lines from the container the host ignored so far (bad seal, replayed, invalid). */
  get rejectedLines(): number {
    return this.#gate.rejectedLines;
  }

  /** The address the agent dialled from (dial transport, once connected); null for attach. */
  get remoteAddress(): string | null {
    return this.#link?.remoteAddress ?? null;
  }

  get alive(): boolean {
    return this.id !== "" && this.exitCode === null;
  }

  /** Resolves when the container has exited. */
  get exited(): Promise<number> {
    return this.#exited ?? Promise.resolve(-1);
  }

  /**
   * Opens a transport ticket (its env joins the spec), creates the container, connects the link,
   * starts the container; resolves once the runner says `ready`. The key reaches the runner through
   * the link only (stdin before start, or after the dial's hello), never the environment or labels.
   */
  async start(readyTimeoutMs: number): Promise<void> {
    const ticket = this.#transport.open(this.name, this.#key);
    this.#ticket = ticket;
    this.id = await this.#runtime.create({ ...this.#spec, env: { ...this.#spec.env, ...ticket.env } });
    const link = await ticket.connect(this.id);
    this.#link = link;
    const decoder = new FrameDecoder<AgentFrame>({ schema: AgentFrameSchema, key: this.#key, from: "agent" });
    link.output.on("data", (chunk: Buffer) => {
      for (const r of decoder.push(chunk)) {
        if (r.ok) this.#dispatch(r.frame);
        else this.#gate.rejected(r.reason, r.unauthenticated === true);
      }
    });
    link.stderr?.on("data", (chunk: Buffer) => {
      this.#stderrTail = (this.#stderrTail + chunk.toString()).slice(-2000);
      this.#gate.stderr(chunk.toString());
    });
    void link.lost.then((reason) => this.#onLost(reason));
    const ready = new Promise<void>((resolve, reject) => {
      this.#ready = { resolve, reject };
    });
    await this.#runtime.start(this.id);
    this.#exited = this.#runtime.wait(this.id).then((code) => {
      this.#onExit(code);
      return code;
    });
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        ready,
        new Promise((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new AgentError("AGENT_NOT_READY", `the agent did not start within ${readyTimeoutMs} ms`),
              ),
            readyTimeoutMs,
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Runs one turn; yields replies then `turn_end`. Throws AgentError on an error frame or a crash. */
  async *turn(
    turnId: string,
    prompt: string,
    sessionId: string | null,
    onSent: () => void = () => {},
  ): AsyncIterable<AgentEvent> {
    if (!this.alive) throw new AgentCrashedError(this.exitCode ?? -1, this.#stderrTail);
    if (this.#turn) throw new AgentError("AGENT_BUSY", "the agent is already running a turn");
    const queue = new AsyncQueue<AgentEvent>();
    this.#turn = { turnId, queue, error: null, calls: new Set(), pending: 0 };
    try {
      this.#send({ type: "turn", turnId, prompt, sessionId });
      onSent();
      yield* queue;
    } finally {
      this.#turn = null;
    }
  }

  /** Graceful stop: `shutdown` frame, then the engine's stop with a grace period, then removal. */
  async stop(graceSeconds = 5): Promise<void> {
    this.#closing = true;
    if (this.alive) {
      this.#send({ type: "shutdown" });
      await Promise.race([this.exited, new Promise((r) => setTimeout(r, 1000))]);
      await this.#runtime.stop(this.id, graceSeconds);
    }
    await this.remove();
  }

  /** Kills and removes the container at once. */
  async kill(): Promise<void> {
    this.#closing = true;
    if (this.id) await this.#runtime.kill(this.id);
    await this.remove();
  }

  /** Ends the link and removes the container; the ticket is revoked (its token and secret die). */
  async remove(): Promise<void> {
    this.#closing = true;
    this.revoke();
    if (this.id) await this.#runtime.remove(this.id);
  }

  /** Revokes the transport ticket and ends the link (not the container); idempotent. */
  revoke(): void {
    this.#link?.close();
    this.#ticket?.revoke();
  }

  #send(frame: HostFrame): void {
    if (!this.#link || !this.alive) return;
    this.#link.write(this.#sealer.seal(frame));
  }

  #onExit(code: number): void {
    const first = this.exitCode === null;
    this.exitCode = code;
    if (first) this.#fail(new AgentCrashedError(code, this.#stderrTail));
    this.#gate.flush();
    this.#log.info({ exitCode: code }, "agent container exited");
  }

  /** The dialled link did not come back: a crash; the container is killed so nothing runs on unheard. */
  #onLost(reason: string): void {
    if (this.#closing || this.exitCode !== null || !this.id) return;
    this.#log.warn({ reason }, "lost the connection to the agent; killing its container");
    this.exitCode = -1;
    this.#fail(new AgentCrashedError(-1, this.#stderrTail, reason));
    this.#runtime
      .kill(this.id)
      .catch((err: unknown) => this.#log.warn({ err }, "could not kill the agent container"));
  }

  #fail(crash: AgentCrashedError): void {
    this.#ready?.reject(crash);
    this.#turn?.queue.fail(crash);
  }

  /** A host tool runs only for the running turn, under its id, once per call id, a few at a time. */
  #toolCall(frame: ToolCallFrame): void {
    const turn = this.#turn;
    const refusal = turn ? toolCallRefusal(turn, frame) : "no turn is running";
    if (!turn || refusal) {
      this.#log.warn({ tool: frame.name, turnId: frame.turnId, reason: refusal }, "refused a host tool call");
      this.#send({ type: "tool_result", callId: frame.callId, ok: false, error: `refused: ${refusal}` });
      return;
    }
    turn.calls.add(frame.callId);
    turn.pending += 1;
    const answer = (result: { ok: true; result: string } | { ok: false; error: string }) => {
      turn.pending -= 1;
      // The turn may have ended meanwhile: the runner then ignores the late answer.
      this.#send({ type: "tool_result", callId: frame.callId, ...result });
    };
    void this.#onTool(frame).then(
      (result) => answer({ ok: true, result }),
      (err: unknown) => answer({ ok: false, error: (err as Error).message }),
    );
  }

  #dispatch(frame: AgentFrame): void {
    switch (frame.type) {
      case "ready":
        this.#ready?.resolve();
        return;
      case "log":
        this.#gate.agent(frame.level, frame.message);
        return;
      case "tool_call":
        this.#toolCall(frame);
        return;
    }
    const turn = this.#turn;
    if (!turn || frame.turnId !== turn.turnId) {
      this.#gate.rejected(`${frame.type} frame for a turn that is not running`, false);
      return;
    }
    if (frame.type === "reply") turn.queue.push({ type: "reply", text: frame.text, final: frame.final });
    else if (frame.type === "turn_end") {
      if (turn.error) {
        turn.queue.fail(turn.error);
        return;
      }
      turn.queue.push({ type: "turn_end", sessionId: frame.sessionId, usage: frame.usage });
      turn.queue.end();
    } else if (frame.type === "error") {
      const error = new AgentError(frame.code, frame.message);
      if (TURN_REFUSALS.has(frame.code)) turn.queue.fail(error);
      else turn.error ??= error;
    }
  }
}

/** Why a tool call may not run in this turn, or null when it may. */
function toolCallRefusal(turn: ActiveTurn, frame: ToolCallFrame): string | null {
  if (frame.turnId !== turn.turnId) return "the call names a turn that is not running";
  if (turn.calls.has(frame.callId)) return "this call id was already used";
  if (turn.pending >= MAX_PENDING_CALLS) return `at most ${MAX_PENDING_CALLS} host tool calls may be pending`;
  if (turn.calls.size >= MAX_CALLS_PER_TURN) return `at most ${MAX_CALLS_PER_TURN} host tool calls per turn`;
  return null;
}
