import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { ModelConfig } from "../../config.js";
import type { Logger } from "../../log.js";
import { agentFor, type ProxySettings } from "../../sandbox/index.js";
import { LogThrottle, refuse, refuseRaw } from "./answers.js";
import { ConnectionGuard } from "./connections.js";
import { ByteBudget, forwardUpstream } from "./forward.js";
import { tokenOf, upstreamHeaders } from "./headers.js";
import { DEFAULT_LIMITS, type ProxyLimits, RateLimiter } from "./limits.js";
import { DEFAULT_RETRY, type RetrySettings } from "./retry-policy.js";
import { PREFIX, parseUpstream, routeRequest, type Upstream } from "./routes.js";
import { normaliseAddress, TokenRegistry } from "./tokens.js";

/** Options for {@link CredentialProxy}. */
export interface CredentialProxyOptions {
  model: ModelConfig;
  /** Outbound proxy for the upstream (the sandbox's HTTP(S)_PROXY). */
  proxy: ProxySettings;
  log: Logger;
  /** Address to listen on: the Docker bridge gateway (or loopback on Docker Desktop). */
  host: string;
  port?: number;
  /** Overrides of {@link DEFAULT_LIMITS}. */
  limits?: Partial<ProxyLimits>;
  /** How model outages are ridden out; overrides of {@link DEFAULT_RETRY}. */
  retry?: Partial<RetrySettings>;
  /** Clock for the rate limiter, the log throttle and the retry window. */
  now?: () => number;
}

/** A request that passed every check. */
type Admitted = { ok: true; chatId: string; path: string; route: string };
/** Why a request is answered by the proxy itself. */
type Refusal = { ok: false; status: number; type: string; message: string; headers?: Record<string, string> };

/** Connection counters since start (the flood benchmark and tests read them). */
export interface ProxyStats {
  accepted: number;
  /** Closed at once: over the per-address cap. */
  refusedPerAddress: number;
  /** Closed at once: the proxy was full and the newcomer's address was the heaviest. */
  dropped: number;
  /** Idle connections of the heaviest address closed to let a lighter address in. */
  evicted: number;
  open: number;
  /** Model requests resent after a transient failure. */
  modelRetries: number;
  /** Model requests answered `model_unavailable` after the retry window. */
  modelUnavailable: number;
  /** Request bodies and answers held in memory for retries right now. */
  bufferedBytes: number;
}

/**
 * The only holder of the real model credential, as a gateway: the upstream is fixed at construction,
 * only the allowlisted model routes pass, tokens are bound to their container's address, and every
 * connection, request body and token is capped. Answers stream back unbuffered; every failure is
 * an HTTP answer, never an exception out of a handler.
 */
export class CredentialProxy {
  /** The base URL path agents append the provider's API paths to. */
  static readonly pathPrefix = PREFIX;

  readonly #o: CredentialProxyOptions;
  readonly #limits: ProxyLimits;
  readonly #upstream: Upstream;
  readonly #agent: http.Agent | undefined;
  readonly #tokens = new TokenRegistry();
  readonly #rate: RateLimiter;
  readonly #connections: ConnectionGuard;
  readonly #throttle: LogThrottle;
  readonly #inflight = new Set<http.ClientRequest>();
  readonly #waiting = new Set<() => void>();
  readonly #retry: RetrySettings;
  readonly #budget: ByteBudget;
  readonly #now: () => number;
  readonly #server: http.Server;
  readonly #stats = {
    accepted: 0,
    refusedPerAddress: 0,
    dropped: 0,
    evicted: 0,
    modelRetries: 0,
    modelUnavailable: 0,
  };
  #warnedAnyAddress = false;

  constructor(options: CredentialProxyOptions) {
    this.#o = options;
    this.#limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.#upstream = parseUpstream(options.model.baseUrl);
    this.#agent = agentFor(new URL(this.#upstream.origin), options.proxy);
    const now = options.now ?? Date.now;
    this.#now = now;
    this.#retry = { ...DEFAULT_RETRY, ...options.retry };
    this.#budget = new ByteBudget(this.#limits.maxBufferedBytes);
    this.#rate = new RateLimiter(this.#limits.rateBurst, this.#limits.ratePerSecond, now);
    this.#connections = new ConnectionGuard(
      this.#limits.maxConnections,
      this.#limits.maxConnectionsPerAddress,
    );
    this.#throttle = new LogThrottle(10_000, now);
    const l = this.#limits;
    this.#server = http.createServer(
      {
        headersTimeout: l.headersTimeoutMs,
        requestTimeout: Math.max(l.requestTimeoutMs, l.headersTimeoutMs),
        keepAliveTimeout: l.idleTimeoutMs,
        // Node checks the two timeouts above on this interval (default 30 s): check often enough to matter.
        connectionsCheckingInterval: Math.max(100, Math.min(1_000, Math.floor(l.headersTimeoutMs / 4))),
      },
      (req, res) => this.#handle(req, res),
    );
    // A backstop only: the guard keeps the count at `maxConnections` fairly; Node's cap is blind to addresses.
    this.#server.maxConnections = l.maxConnections * 2;
    this.#server.on("connection", (socket: Socket) => this.#admit(socket));
    this.#server.on("clientError", (err: NodeJS.ErrnoException, socket) => {
      // Node's own default: a raw status line only while no answer has started on this socket.
      const current = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
      const busy = Boolean(current?.headersSent);
      this.#warn(`client:${err.code}`, { code: err.code }, "credential proxy refused a malformed request");
      refuseRaw(socket, err.code, busy);
    });
    // CONNECT (authority-form) would make this a tunnel: answer and close.
    this.#server.on("connect", (_req, socket: Socket) => refuseRaw(socket, "CONNECT", false));
    // An accept() failure (EMFILE) is emitted here; unhandled, it would take the host down.
    this.#server.on("error", (err) => this.#warn("server", { err }, "credential proxy server error"));
  }

  /** Starts listening; resolves with the base URL agents use (before the gateway rewrite). */
  async listen(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(this.#o.port ?? 0, this.#o.host, () => {
        this.#server.off("error", reject);
        resolve();
      });
    });
    return `http://${this.#o.host}:${this.port}${PREFIX}`;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  stats(): ProxyStats {
    return { ...this.#stats, open: this.#connections.open, bufferedBytes: this.#budget.used };
  }

  /** Issues a random token for one container, attributed to `chatId`; refused until bound. */
  issueToken(chatId: string): string {
    return this.#tokens.issue(chatId);
  }

  /**
   * Binds a token to the source address its container's requests come from; null (the runtime
   * cannot tell, e.g. behind Docker Desktop's NAT) accepts any address, with a warning.
   */
  bindToken(token: string, address: string | null): void {
    this.#tokens.bind(token, address);
  }

  revokeToken(token: string): void {
    this.#tokens.revoke(token);
    this.#rate.forget(token);
  }

  async close(): Promise<void> {
    for (const cancel of this.#waiting) cancel();
    this.#waiting.clear();
    for (const r of this.#inflight) r.destroy();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #admit(socket: Socket): void {
    const admission = this.#connections.admit(socket);
    if (admission === "accepted") this.#stats.accepted += 1;
    else if (admission === "accepted-evicting") {
      this.#stats.accepted += 1;
      this.#stats.evicted += 1;
    } else {
      const address = normaliseAddress(socket.remoteAddress);
      if (admission === "refused-address") this.#stats.refusedPerAddress += 1;
      else this.#stats.dropped += 1;
      this.#warn(
        `${admission}:${address}`,
        { address },
        `credential proxy closed a connection (${admission})`,
      );
    }
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    try {
      this.#forward(req, res);
    } catch (err) {
      // Nothing above should throw; if it does, the agent gets a 500, the host keeps running.
      this.#o.log.error({ err }, "credential proxy handler failed");
      req.resume();
      refuse(res, 500, "api_error", "credential proxy error");
    }
  }

  /** Every check a request must pass before anything is sent upstream, in order. */
  #admitRequest(req: IncomingMessage): Admitted | Refusal {
    const routed = routeRequest(req.method, req.url, this.#o.model.provider, this.#upstream);
    if (!routed.ok && routed.status !== 404 && routed.status !== 405) {
      return { ok: false, status: routed.status, type: "invalid_request_error", message: routed.message };
    }
    const token = tokenOf(req.headers);
    const check = this.#tokens.check(token, req.socket.remoteAddress);
    if (!check.ok) return check;
    if (check.anyAddress && !this.#warnedAnyAddress) {
      this.#warnedAnyAddress = true;
      this.#o.log.warn(
        "agent tokens are not bound to container addresses: any container may use any live token",
      );
    }
    if (!routed.ok) {
      const headers: Record<string, string> = routed.allow ? { allow: routed.allow } : {};
      return { ok: false, status: routed.status, type: "not_found_error", message: routed.message, headers };
    }
    const wait = this.#rate.take(token as string);
    if (wait > 0) {
      return {
        ok: false,
        status: 429,
        type: "rate_limit_error",
        message: "too many model requests from this agent",
        headers: { "retry-after": String(Math.ceil(wait / 1000)) },
      };
    }
    if (Number(req.headers["content-length"] ?? 0) > this.#limits.maxBodyBytes) return this.#tooLarge();
    return { ok: true, chatId: check.chatId, path: routed.path, route: routed.route };
  }

  #forward(req: IncomingMessage, res: ServerResponse): void {
    const admitted = this.#admitRequest(req);
    if (!admitted.ok) {
      this.#refuse(req, res, admitted);
      return;
    }
    const done = this.#connections.busy(req.socket);
    res.once("close", done);
    forwardUpstream({
      req,
      res,
      upstream: this.#upstream,
      agent: this.#agent,
      path: admitted.path,
      headers: upstreamHeaders(req.headers, this.#upstream, this.#o.model),
      maxBodyBytes: this.#limits.maxBodyBytes,
      inflight: this.#inflight,
      waiting: this.#waiting,
      log: this.#o.log.child({ chatId: admitted.chatId, route: admitted.route }),
      onTooLarge: () => this.#refuse(req, res, this.#tooLarge()),
      retry: this.#retry,
      budget: this.#budget,
      maxAnswerBufferBytes: this.#limits.maxAnswerBufferBytes,
      now: this.#now,
      onRetry: () => {
        this.#stats.modelRetries += 1;
      },
      onGiveUp: () => {
        this.#stats.modelUnavailable += 1;
      },
    });
  }

  #tooLarge(): Refusal {
    const mb = Math.round((this.#limits.maxBodyBytes / 1024 / 1024) * 10) / 10;
    return {
      ok: false,
      status: 413,
      type: "request_too_large",
      message: `request body over ${mb} MB`,
      headers: { connection: "close" },
    };
  }

  #refuse(req: IncomingMessage, res: ServerResponse, r: Refusal): void {
    this.#warn(
      `refuse:${r.status}`,
      {
        status: r.status,
        path: req.url?.slice(0, 200),
        method: req.method,
        address: req.socket.remoteAddress,
      },
      `credential proxy refused a request: ${r.message}`,
    );
    // Read (and discard) what the client still sends, so it sees the answer instead of a reset; a
    // body still on its way ends the connection, so a refused upload cannot go on for long.
    req.resume();
    const headers = req.complete ? r.headers : { ...r.headers, connection: "close" };
    refuse(res, r.status, r.type, r.message, headers);
  }

  #warn(key: string, fields: Record<string, unknown>, message: string): void {
    const suppressed = this.#throttle.pass(key);
    if (suppressed !== null) this.#o.log.warn({ ...fields, suppressed }, message);
  }
}
