/** Caps of the credential proxy; every one of them bounds what one agent can take from the host. */
export interface ProxyLimits {
  /** Open connections overall; when full, the heaviest address gives up an idle one to a lighter one. */
  maxConnections: number;
  /** Open connections per source address, i.e. per container once tokens are bound. */
  maxConnectionsPerAddress: number;
  /** Time to receive a request's headers. */
  headersTimeoutMs: number;
  /** Time to receive a whole request (headers and body); an answer's stream is not limited. */
  requestTimeoutMs: number;
  /** Keep-alive idle time between requests on one connection. */
  idleTimeoutMs: number;
  /** Request body cap; more gets 413 and the upstream request is aborted. */
  maxBodyBytes: number;
  /** Memory for request bodies and answers held for retries, across all requests in flight. */
  maxBufferedBytes: number;
  /** An answer larger than this streams through unbuffered (and is not retried once started). */
  maxAnswerBufferBytes: number;
  /** Token bucket per agent token: burst size and refill rate. */
  rateBurst: number;
  ratePerSecond: number;
}

/** Defaults sized for a few dozen chats: a turn makes one model request per tool step. */
export const DEFAULT_LIMITS: ProxyLimits = {
  maxConnections: 256,
  maxConnectionsPerAddress: 16,
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 15_000,
  idleTimeoutMs: 5_000,
  maxBodyBytes: 8 * 1024 * 1024,
  maxBufferedBytes: 128 * 1024 * 1024,
  maxAnswerBufferBytes: 16 * 1024 * 1024,
  rateBurst: 60,
  ratePerSecond: 2,
};

/** A token bucket per key with an injected clock. */
export class RateLimiter {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    readonly burst: number,
    readonly perSecond: number,
    readonly now: () => number = Date.now,
  ) {}

  /** Takes one token for `key`: 0 when allowed, else the milliseconds until one is available. */
  take(key: string): number {
    const t = this.now();
    const b = this.#buckets.get(key) ?? { tokens: this.burst, at: t };
    b.tokens = Math.min(this.burst, b.tokens + ((t - b.at) / 1000) * this.perSecond);
    b.at = t;
    this.#buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - b.tokens) / this.perSecond) * 1000);
  }

  forget(key: string): void {
    this.#buckets.delete(key);
  }
}
