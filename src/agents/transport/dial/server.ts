import { createServer, type Server, type Socket } from "node:net";
import { AgentError } from "../../../errors.js";
import type { Logger } from "../../../log.js";
import { HANDSHAKE_LINE_MAX, parseHandshake } from "../../../protocol/dial.js";
import { DialSession, dialSecret, plainAddress } from "./session.js";

/** Options for {@link DialServer}. */
export interface DialServerOptions {
  /** The address to listen on (the agents' network gateway, or the swarm network's). */
  host: string;
  /** 0: any free port. */
  port: number;
  /** Where agents reach this server (`port` defaults to the one listened on). */
  advertise: { host: string; port?: number };
  log: Logger;
  /** How long a dropped link waits for its agent to resume before it is lost. */
  resumeGraceMs?: number;
  /** How long a new connection may take to send its handshake line. */
  handshakeTimeoutMs?: number;
  /** Connections in handshake at once; more are closed at once. */
  maxHandshakes?: number;
  /** Connections in handshake at once from one address, so one peer cannot take every slot. */
  maxHandshakesPerAddress?: number;
}

/** Connections still in their handshake at once, by default. */
export const MAX_HANDSHAKES = 64;
/** Of those, from one address: an agent that floods the port keeps only its own address out. */
export const MAX_HANDSHAKES_PER_ADDRESS = 8;
/** Refusals logged one by one per window; the rest are counted. */
const REFUSALS_SHOWN = 10;
const REFUSAL_WINDOW_MS = 10_000;

/**
 * The host's end of the dial transport: agents connect over plain TCP and speak the handshake of
 * src/protocol/dial.ts, then sealed NDJSON lines. TLS is optional and not built: every line is
 * already authenticated (HMAC per line, wire.ts) and the token and secrets are single-use, and the
 * agents' bridge network has inter-container traffic off, so only the host sees an agent's bytes.
 * A cluster network that other parties can watch would need TLS (or an encrypted overlay) first.
 * Nothing an unauthenticated peer sends is parsed as a frame or logged beyond its handshake verdict.
 */
export class DialServer {
  readonly #o: Required<Omit<DialServerOptions, "advertise">> & DialServerOptions;
  readonly #server: Server;
  readonly #byToken = new Map<string, DialSession>();
  readonly #bySecret = new Map<string, DialSession>();
  readonly #sockets = new Set<Socket>();
  #handshakes = 0;
  readonly #handshakesFrom = new Map<string, number>();
  #refusals = 0;
  #windowRefusals = 0;
  #windowTimer: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(options: DialServerOptions) {
    this.#o = {
      resumeGraceMs: 20_000,
      handshakeTimeoutMs: 10_000,
      maxHandshakes: MAX_HANDSHAKES,
      maxHandshakesPerAddress: MAX_HANDSHAKES_PER_ADDRESS,
      ...options,
    };
    this.#server = createServer((socket) => this.#onConnection(socket));
  }

  /** The port listened on (after `listen`). */
  get port(): number {
    const a = this.#server.address();
    return a && typeof a === "object" ? a.port : 0;
  }

  /** What agents dial: `host:port`. */
  get address(): string {
    return `${this.#o.advertise.host}:${this.#o.advertise.port ?? this.port}`;
  }

  /** Connections refused so far (bad handshake, unknown token or secret, limits). */
  get refusals(): number {
    return this.#refusals;
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(this.#o.port, this.#o.host, () => {
        this.#server.off("error", reject);
        resolve();
      });
    });
    this.#o.log.info(
      { address: `${this.#o.host}:${this.port}`, advertised: this.address },
      "dial server listening",
    );
  }

  /** Stops listening, revokes every session and closes every connection. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const s of [...this.#byToken.values(), ...this.#bySecret.values()]) s.revoke();
    this.#byToken.clear();
    this.#bySecret.clear();
    for (const socket of this.#sockets) socket.destroy();
    if (this.#windowTimer) clearTimeout(this.#windowTimer);
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /**
   * A new session for one agent container: its single-use token, to be given in the container's env.
   * Throws AgentError AGENT_START_FAILED once the server is closed.
   */
  session(agentName: string, key: string): DialSession {
    if (this.#closed) throw new AgentError("AGENT_START_FAILED", "the dial server is closed");
    const token = dialSecret();
    const session = new DialSession(agentName, token, key, this.#o.resumeGraceMs, this.#o.log, {
      secretChanged: (old, next) => {
        if (old) this.#bySecret.delete(old);
        if (next) this.#bySecret.set(next, session);
      },
      ended: () => this.#byToken.delete(token),
    });
    this.#byToken.set(token, session);
    return session;
  }

  #onConnection(socket: Socket): void {
    this.#sockets.add(socket);
    socket.on("close", () => this.#sockets.delete(socket));
    socket.on("error", () => {});
    const from = plainAddress(socket.remoteAddress);
    const fromNow = this.#handshakesFrom.get(from) ?? 0;
    if (this.#handshakes >= this.#o.maxHandshakes || fromNow >= this.#o.maxHandshakesPerAddress) {
      this.#refuse(socket, "busy", "too many connections in handshake");
      return;
    }
    this.#handshakes += 1;
    this.#handshakesFrom.set(from, fromNow + 1);
    let head = Buffer.alloc(0);
    let done = false;
    const finish = () => {
      if (done) return false;
      done = true;
      this.#handshakes -= 1;
      const left = (this.#handshakesFrom.get(from) ?? 1) - 1;
      if (left > 0) this.#handshakesFrom.set(from, left);
      else this.#handshakesFrom.delete(from);
      clearTimeout(timer);
      socket.off("data", onData);
      return true;
    };
    const timer = setTimeout(() => {
      if (finish()) this.#refuse(socket, "handshake timeout", "no handshake line in time");
    }, this.#o.handshakeTimeoutMs);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const nl = head.indexOf(10);
      if (nl === -1 || nl >= HANDSHAKE_LINE_MAX) {
        if (head.length >= HANDSHAKE_LINE_MAX && finish()) {
          this.#refuse(socket, "handshake line too long", "handshake line over the cap");
        }
        return;
      }
      if (!finish()) return;
      socket.pause();
      this.#handshake(socket, head.subarray(0, nl).toString("latin1"), head.subarray(nl + 1));
      socket.resume();
    };
    socket.on("data", onData);
    socket.on("close", () => finish());
  }

  #handshake(socket: Socket, line: string, rest: Buffer): void {
    const hs = parseHandshake(line);
    if (hs?.kind === "hello") {
      const session = this.#byToken.get(hs.token);
      // Single use: the token is spent by its first hello, whatever follows.
      this.#byToken.delete(hs.token);
      if (!session || session.ended) {
        this.#refuse(socket, "unknown token", "hello with an unknown token");
        return;
      }
      const refusal = session.accept(socket, rest);
      if (refusal) this.#refuse(socket, refusal, refusal, session.agentName);
      else this.#o.log.info({ agent: session.agentName, from: session.remoteAddress }, "agent dialled in");
      return;
    }
    if (hs?.kind === "resume") {
      const session = this.#bySecret.get(hs.secret);
      if (!session || session.ended) {
        this.#refuse(socket, "unknown secret", "resume with an unknown secret");
        return;
      }
      const refusal = session.resume(socket, hs.seq, rest);
      if (refusal) this.#refuse(socket, refusal, refusal, session.agentName);
      return;
    }
    this.#refuse(socket, "bad handshake", "not a handshake line");
  }

  #refuse(socket: Socket, reason: string, why: string, agent?: string): void {
    this.#refusals += 1;
    this.#noteRefusal(plainAddress(socket.remoteAddress), why, agent);
    socket.end(`refused ${reason}\n`);
    setTimeout(() => socket.destroy(), 1000).unref();
  }

  /** A warning per refusal, at most REFUSALS_SHOWN per window, then one summary: a flood is not a log flood. */
  #noteRefusal(from: string, reason: string, agent?: string): void {
    this.#windowRefusals += 1;
    if (this.#windowRefusals <= REFUSALS_SHOWN) {
      this.#o.log.warn({ from, reason, agent }, "dial connection refused");
    }
    if (this.#windowTimer) return;
    this.#windowTimer = setTimeout(() => {
      const more = this.#windowRefusals - REFUSALS_SHOWN;
      if (more > 0)
        this.#o.log.warn({ refused: more }, "more dial connections refused (not shown one by one)");
      this.#windowRefusals = 0;
      this.#windowTimer = null;
    }, REFUSAL_WINDOW_MS);
    this.#windowTimer.unref();
  }
}
