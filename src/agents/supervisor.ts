import { randomUUID } from "node:crypto";
import { backoffDelay } from "../backoff.js";
import { type AgentSpecContext, agentContainerSpec } from "../containers/agent-spec.js";
import type { ContainerRuntime } from "../containers/container-runtime.js";
import { checkExtraMounts, type MountPolicy, MountRefusedError } from "../containers/mount-policy.js";
import { AgentError } from "../errors.js";
import type { Logger } from "../log.js";
import type { ToolCallFrame } from "../protocol/index.js";
import type { RegisteredChat } from "../registration/chat.js";
import { AgentContainer, AgentCrashedError } from "./agent-container.js";
import type { AgentEvent, AgentRuntime, TurnRequest } from "./agent-runtime.js";
import { prepareChatFolders } from "./chat-folders.js";
import { AttachTransport } from "./transport/attach.js";
import type { AgentTransport } from "./transport/transport.js";

/** Issues and revokes per-container credential-proxy tokens. */
export interface TokenIssuer {
  issueToken(chatId: string): string;
  /** Accepts `token` only from `address` (the container's on the agents' network); null: from any. */
  bindToken(token: string, address: string | null): void;
  revokeToken(token: string): void;
}

/** Options for {@link AgentSupervisor}. */
export interface SupervisorOptions {
  runtime: ContainerRuntime;
  /** How the host talks to its containers (default: attached stdio through `runtime.attach`). */
  transport?: AgentTransport;
  spec: Omit<AgentSpecContext, "modelBaseUrl"> & { modelBaseUrl: string };
  tokens: TokenIssuer;
  /** The extra-mount rule, applied again before every container start (paths change after registration). */
  mountPolicy: MountPolicy;
  /**
   * Bind each token to its container's address on `spec.network` (default true). False only when the
   * proxy cannot see agents by that address (it listens on all interfaces as a fallback).
   */
  bindTokens?: boolean;
  log: Logger;
  idleTimeoutMs: number;
  turnTimeoutMs: number;
  readyTimeoutMs?: number;
  /**
   * Makes a chat's folders ready before its agent starts; default: real directories under `data/` owned by
   * the agent's user. A swarm creates the chat's named volumes instead.
   */
  prepareStorage?: (chat: RegisteredChat) => Promise<void>;
  /** Observability hook: a turn frame was written to a chat's agent (used by the benchmark). */
  onTurnSent?: (chatId: string) => void;
  /** Tries per turn when the container crashes before replying. */
  maxAttempts?: number;
  backoffMs?: number;
  now?: () => number;
}

interface Slot {
  chat: RegisteredChat;
  agent: AgentContainer;
  token: string;
  starting: Promise<void>;
  busy: boolean;
  idleTimer: NodeJS.Timeout | null;
  /** The running turn's host tools; null between turns (a tool call then is refused). */
  tools: TurnRequest["onToolCall"] | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function formatMs(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000} min` : `${Math.round(ms / 1000)} s`;
}

/**
 * Runs each registered chat's agent in its own container: started on demand (or pre-warmed),
 * reused while warm, removed after `idleTimeoutMs`; a turn past `turnTimeoutMs` gets its
 * container killed; a crash before any reply is retried with backoff, then reported.
 */
export class AgentSupervisor implements AgentRuntime {
  readonly #o: Required<Omit<SupervisorOptions, "now">> & { now: () => number };
  readonly #slots = new Map<string, Slot>();
  #closed = false;

  constructor(options: SupervisorOptions) {
    this.#o = {
      readyTimeoutMs: 60_000,
      bindTokens: true,
      maxAttempts: 3,
      backoffMs: 500,
      now: Date.now,
      ...options,
      transport: options.transport ?? new AttachTransport(options.runtime),
      onTurnSent: options.onTurnSent ?? (() => {}),
      prepareStorage: options.prepareStorage ?? (async (chat) => this.#prepareDirs(chat)),
    };
  }

  /** Ids and names of the containers this supervisor owns, including ones being created. */
  ownedContainers(): Set<string> {
    return new Set([...this.#slots.values()].flatMap((s) => [s.agent.id, s.agent.name]).filter(Boolean));
  }

  /** The container currently serving a chat, if any. */
  containerOf(chatId: string): string | null {
    return this.#slots.get(chatId)?.agent.id || null;
  }

  prewarm(chat: RegisteredChat): void {
    if (this.#closed || this.#slots.has(chat.chatId)) return;
    this.#ensure(chat).then(
      (slot) => this.#armIdle(slot),
      (err: unknown) => this.#o.log.warn({ err, chatId: chat.chatId }, "pre-warming the agent failed"),
    );
  }

  async *runTurn(request: TurnRequest): AsyncIterable<AgentEvent> {
    const { chat } = request;
    const { maxAttempts, turnTimeoutMs, log } = this.#o;
    let replied = false;
    for (let attempt = 1; ; attempt++) {
      if (this.#closed) throw new AgentError("SHUTTING_DOWN", "nestbox is shutting down");
      let slot: Slot;
      try {
        slot = await this.#ensure(chat);
      } catch (err) {
        const refused = err instanceof AgentError && err.code === "MOUNT_REFUSED";
        if (refused || attempt >= maxAttempts || this.#closed) throw this.#giveUp(err, attempt);
        log.warn({ err, chatId: chat.chatId, attempt }, "agent failed to start; retrying");
        await sleep(backoffDelay(attempt - 1, { baseMs: this.#o.backoffMs }));
        continue;
      }
      slot.busy = true;
      slot.tools = request.onToolCall;
      if (slot.idleTimer) clearTimeout(slot.idleTimer);
      let timedOut: Promise<void> | null = null;
      const timer = setTimeout(() => {
        log.warn(
          { chatId: chat.chatId, container: slot.agent.name },
          "turn timed out; killing its container",
        );
        timedOut = this.#discard(slot, "kill");
      }, turnTimeoutMs);
      const onAbort = () => void this.#discard(slot, "kill");
      request.signal.addEventListener("abort", onAbort, { once: true });
      try {
        // Unguessable, so nothing in the container can name a turn it has not been told about.
        const turnId = randomUUID();
        const events = slot.agent.turn(turnId, request.prompt, request.sessionId, () =>
          this.#o.onTurnSent(chat.chatId),
        );
        for await (const event of events) {
          if (event.type === "reply") replied = true;
          yield event;
        }
        return;
      } catch (err) {
        if (timedOut) {
          await timedOut;
          throw new AgentError(
            "TURN_TIMEOUT",
            `it took longer than ${formatMs(turnTimeoutMs)} (AGENT_TURN_TIMEOUT), so the agent was stopped`,
            { cause: err },
          );
        }
        if (!(err instanceof AgentCrashedError) || request.signal.aborted) throw err;
        await this.#discard(slot, "remove");
        if (replied || attempt >= maxAttempts) throw this.#giveUp(err, attempt);
        log.warn(
          { chatId: chat.chatId, attempt, exitCode: err.exitCode },
          "agent crashed mid-turn; retrying",
        );
        await sleep(backoffDelay(attempt - 1, { baseMs: this.#o.backoffMs }));
      } finally {
        clearTimeout(timer);
        request.signal.removeEventListener("abort", onAbort);
        slot.busy = false;
        slot.tools = null;
        if (this.#slots.get(chat.chatId) === slot && slot.agent.alive) this.#armIdle(slot);
      }
    }
  }

  /** Stops every agent container gracefully (in parallel); new turns are refused. */
  async shutdown(): Promise<void> {
    this.#closed = true;
    const slots = [...this.#slots.values()];
    await Promise.allSettled(slots.map((s) => this.#discard(s, "stop")));
  }

  #giveUp(err: unknown, attempts: number): AgentError {
    if (err instanceof AgentCrashedError) {
      return new AgentError("AGENT_CRASHED", `the agent crashed ${attempts} time(s) (${err.message})`, {
        cause: err,
      });
    }
    return err instanceof AgentError
      ? err
      : new AgentError("AGENT_START_FAILED", (err as Error).message, { cause: err });
  }

  #armIdle(slot: Slot): void {
    if (slot.idleTimer) clearTimeout(slot.idleTimer);
    slot.idleTimer = setTimeout(() => {
      if (!slot.busy) {
        this.#o.log.info({ chatId: slot.chat.chatId }, "agent idle; stopping its container");
        void this.#discard(slot, "stop");
      }
    }, this.#o.idleTimeoutMs);
    slot.idleTimer.unref();
  }

  async #discard(slot: Slot, how: "stop" | "kill" | "remove"): Promise<void> {
    if (this.#slots.get(slot.chat.chatId) === slot) this.#slots.delete(slot.chat.chatId);
    if (slot.idleTimer) clearTimeout(slot.idleTimer);
    this.#o.tokens.revokeToken(slot.token);
    await slot.starting.catch(() => {});
    try {
      if (how === "stop") await slot.agent.stop();
      else if (how === "kill") await slot.agent.kill();
      else await slot.agent.remove();
    } catch (err) {
      this.#o.log.warn({ err, container: slot.agent.name }, "could not remove an agent container");
    } finally {
      slot.agent.revoke();
    }
  }

  async #ensure(chat: RegisteredChat): Promise<Slot> {
    const existing = this.#slots.get(chat.chatId);
    if (existing) {
      await existing.starting;
      if (existing.agent.alive) return existing;
      await this.#discard(existing, "remove");
    }
    const extraMounts = this.#checkMounts(chat);
    const token = this.#o.tokens.issueToken(chat.chatId);
    const spec = agentContainerSpec({ ...chat, extraMounts }, this.#o.spec, token, this.#o.now());
    const slot: Slot = {
      chat,
      agent: new AgentContainer(
        this.#o.runtime,
        spec,
        this.#o.log,
        (call) => this.#tool(slot, call),
        {},
        this.#o.transport,
      ),
      token,
      starting: Promise.resolve(),
      busy: false,
      idleTimer: null,
      tools: null,
    };
    const { agent } = slot;
    // Bound before anyone awaiting `starting` can send a turn (and so a model call).
    // The slot is taken before the first await, so a pre-warm and a turn never start two containers.
    slot.starting = this.#o
      .prepareStorage(chat)
      .then(() => agent.start(this.#o.readyTimeoutMs))
      .then(() => this.#bind(agent, token));
    this.#slots.set(chat.chatId, slot);
    try {
      await slot.starting;
    } catch (err) {
      await this.#discard(slot, "remove");
      throw err;
    }
    void agent.exited.then(() => {
      if (this.#slots.get(chat.chatId) === slot && !slot.busy) void this.#discard(slot, "remove");
    });
    this.#o.log.info({ chatId: chat.chatId, container: agent.name }, "agent container started");
    return slot;
  }

  /** The chat's extra mounts as they resolve now; a refused one stops the start before anything is created. */
  #checkMounts(chat: RegisteredChat): RegisteredChat["extraMounts"] {
    try {
      return checkExtraMounts(chat.extraMounts, this.#o.mountPolicy);
    } catch (err) {
      if (!(err instanceof MountRefusedError)) throw err;
      this.#o.log.error(
        { chatId: chat.chatId, mount: err.mount, reason: err.reason },
        "extra mount refused; the agent container is not started",
      );
      throw new AgentError("MOUNT_REFUSED", `extra mount ${err.mount} is refused: ${err.message}`, {
        cause: err,
      });
    }
  }

  async #bind(agent: AgentContainer, token: string): Promise<void> {
    if (!this.#o.bindTokens) return this.#o.tokens.bindToken(token, null);
    const { network } = this.#o.spec;
    const address = await this.#o.runtime.containerAddress(agent.id, network);
    // Never fall back to an unbound token: a container without an address is not started.
    if (!address) throw new AgentError("AGENT_START_FAILED", `${agent.name} has no address on ${network}`);
    // A dialled link must come from that same container: anything else holding its token is refused.
    const remote = agent.remoteAddress;
    if (remote !== null && remote !== address) {
      throw new AgentError(
        "AGENT_START_FAILED",
        `${agent.name} dialled in from ${remote}, not from its address ${address} on ${network}`,
      );
    }
    this.#o.tokens.bindToken(token, address);
  }

  /** The chat's folders as real directories owned by the agent's user (never following symlinks). */
  #prepareDirs(chat: RegisteredChat): void {
    const [uid, gid] = this.#o.spec.user.split(":").map(Number) as [number, number];
    prepareChatFolders(this.#o.spec.dataDir, chat, { uid, gid });
  }

  /** Forwards a tool call to the running turn's host tools; the pipeline decides what is allowed. */
  async #tool(slot: Slot, call: ToolCallFrame): Promise<string> {
    if (!slot.tools) throw new Error("no turn is running");
    return slot.tools(call);
  }
}
