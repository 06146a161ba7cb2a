import { randomBytes } from "node:crypto";
import type { Socket } from "node:net";
import { PassThrough } from "node:stream";
import type { Logger } from "../../../log.js";
import { LineSplitter, lineSeq, ReplayBuffer } from "../../../protocol/dial.js";
import { MAX_LINE_BYTES } from "../../../protocol/wire.js";
import type { AgentLink } from "../transport.js";

/** A fresh random secret (32 bytes, hex): dial tokens and resume secrets. */
export function dialSecret(): string {
  return randomBytes(32).toString("hex");
}

/** An address as the agents' network knows it (an IPv4-mapped IPv6 address becomes plain IPv4). */
export function plainAddress(address: string | undefined): string {
  const a = address ?? "";
  return a.startsWith("::ffff:") && a.includes(".") ? a.slice(7) : a;
}

/** What the server asks of a session when its secrets change or it ends. */
export interface SessionHooks {
  /** The resume secret changed (`old` no longer valid, `next` valid, null: none). */
  secretChanged(old: string | null, next: string | null): void;
  /** The session ended (revoked, closed or lost): its token is no longer valid either. */
  ended(): void;
}

/**
 * One ticket's link on the host side: its single-use token, the frame key, the current connection
 * (at most one), the replay buffer of host lines and the highest agent line received. A dropped
 * connection leaves the session waiting `graceMs` for a resume, after which `lost` resolves.
 */
export class DialSession implements AgentLink {
  readonly output = new PassThrough();
  readonly stderr = null;
  readonly lost: Promise<string>;
  remoteAddress: string | null = null;
  #resolveLost: (reason: string) => void = () => {};
  #socket: Socket | null = null;
  #secret: string | null = null;
  #graceTimer: NodeJS.Timeout | null = null;
  #highestIn = 0;
  #ended = false;
  #resumes = 0;
  readonly #sent = new ReplayBuffer();
  readonly #splitter = new LineSplitter(MAX_LINE_BYTES + 1);

  constructor(
    readonly agentName: string,
    readonly token: string,
    readonly key: string,
    private readonly graceMs: number,
    private readonly log: Logger,
    private readonly hooks: SessionHooks,
  ) {
    this.lost = new Promise((resolve) => {
      this.#resolveLost = resolve;
    });
  }

  /** True once revoked, closed or lost: no connection is accepted any more. */
  get ended(): boolean {
    return this.#ended;
  }

  write(lines: string): void {
    if (this.#ended) return;
    this.#sent.push(lines);
    this.#socket?.write(lines);
  }

  close(): void {
    this.#end();
  }

  /**
   * The first connection (after a valid hello): welcome, then every host line written so far; null.
   * Refused (the reason) when those lines no longer fit the replay buffer: the session is then lost.
   */
  accept(socket: Socket, rest: Buffer): string | null {
    const early = this.#sent.since(0);
    if (early === null) {
      this.#lose("the host wrote more than the replay buffer holds before the agent dialled in");
      return "cannot replay";
    }
    this.remoteAddress = plainAddress(socket.remoteAddress);
    const secret = this.#rotate();
    this.#attach(socket, `welcome ${this.key} ${secret}\n${early}`, rest);
    return null;
  }

  /**
   * A reconnect with the current secret: refused (null) when it comes from another address or the
   * replay buffer cannot serve `agentHas`; then the session is lost. Else the reply line and replay.
   */
  resume(socket: Socket, agentHas: number, rest: Buffer): string | null {
    const from = plainAddress(socket.remoteAddress);
    if (from !== this.remoteAddress) return "resume from another address";
    const replay = this.#sent.since(agentHas);
    if (replay === null) {
      this.#lose(`the agent asked to resume after host line ${agentHas}, which cannot be replayed`);
      return "cannot replay";
    }
    const old = this.#socket;
    this.#socket = null;
    old?.destroy();
    const secret = this.#rotate();
    this.#resumes += 1;
    this.#attach(socket, `resumed ${this.#highestIn} ${secret}\n${replay}`, rest);
    this.log.info(
      { agent: this.agentName, resentLines: replay.split("\n").length - 1 },
      "agent link resumed",
    );
    return null;
  }

  /** How many times the agent resumed this link after a dropped connection. */
  get resumes(): number {
    return this.#resumes;
  }

  /** The host side drops the current connection (tests: a cut cable); the agent may resume. */
  dropConnection(): void {
    this.#socket?.destroy();
  }

  /** Revokes the session: no connection is accepted any more, the current one ends. */
  revoke(): void {
    this.#end();
  }

  #attach(socket: Socket, greeting: string, rest: Buffer): void {
    if (this.#graceTimer) clearTimeout(this.#graceTimer);
    this.#graceTimer = null;
    this.#socket = socket;
    this.#splitter.discardPartial();
    if (rest.length > 0) this.#receive(rest);
    socket.setKeepAlive(true, 5000);
    socket.setNoDelay(true);
    socket.write(greeting);
    socket.on("data", (chunk: Buffer) => {
      if (this.#socket === socket) this.#receive(chunk);
    });
    socket.on("close", () => this.#detached(socket));
    socket.on("error", () => {});
  }

  #receive(chunk: Buffer): void {
    const dropped = this.#splitter.dropped;
    const lines = this.#splitter.push(chunk);
    if (this.#splitter.dropped > dropped && (dropped === 0 || this.#splitter.dropped % 100 === 0)) {
      this.log.warn(
        { agent: this.agentName, dropped: this.#splitter.dropped },
        "dropped over-long lines from the agent",
      );
    }
    for (const line of lines) {
      const seq = lineSeq(line);
      if (seq !== null) {
        // Already received before the connection dropped: resent lines are not passed on twice.
        if (seq <= this.#highestIn) continue;
        this.#highestIn = seq;
      }
      this.output.write(line);
    }
  }

  #detached(socket: Socket): void {
    if (this.#socket !== socket || this.#ended) return;
    this.#socket = null;
    // Info, not a warning: a runner exiting after `shutdown` drops its link too, and a resume is no fault;
    // a link that never comes back is reported as lost (and its agent as crashed).
    this.log.info(
      { agent: this.agentName, graceMs: this.graceMs },
      "agent link dropped; waiting for a resume",
    );
    this.#graceTimer = setTimeout(
      () => this.#lose(`the agent did not reconnect within ${this.graceMs} ms`),
      this.graceMs,
    );
    this.#graceTimer.unref();
  }

  #rotate(): string {
    const next = dialSecret();
    this.hooks.secretChanged(this.#secret, next);
    this.#secret = next;
    return next;
  }

  #lose(reason: string): void {
    if (this.#ended) return;
    this.#end();
    this.#resolveLost(reason);
  }

  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#graceTimer) clearTimeout(this.#graceTimer);
    this.hooks.secretChanged(this.#secret, null);
    this.hooks.ended();
    this.#secret = null;
    this.#socket?.destroy();
    this.#socket = null;
    this.output.end();
  }
}
