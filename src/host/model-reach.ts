import type { Agent } from "node:http";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import type { ModelState } from "./readiness.js";

/** Asks whether an origin answers HTTP at all; resolves on any answer, rejects when none comes. */
export type OriginProbe = (origin: URL, timeoutMs: number) => Promise<void>;

/** Options for {@link ModelReach}. */
export interface ModelReachOptions {
  /** The model's base URL; only its origin is contacted. */
  baseUrl: string;
  /** The proxy agent for that origin, when the sandbox routes it through one. */
  agent?: Agent;
  /** How long an answer is reused (default 30 s): probes and status must not hammer the model host. */
  cacheMs?: number;
  timeoutMs?: number;
  probe?: OriginProbe;
  now?: () => number;
}

/**
 * Whether the model endpoint's origin is reachable: one HEAD request to `/`, any HTTP answer
 * (401, 404 included) counts. No credential is sent and no token is spent. Answers are cached.
 */
export class ModelReach {
  readonly #o: ModelReachOptions;
  #cached: { at: number; state: ModelState } | null = null;
  #inFlight: Promise<ModelState> | null = null;

  constructor(options: ModelReachOptions) {
    this.#o = options;
  }

  check(): Promise<ModelState> {
    const now = (this.#o.now ?? Date.now)();
    if (this.#cached && now - this.#cached.at < (this.#o.cacheMs ?? 30_000)) {
      return Promise.resolve(this.#cached.state);
    }
    this.#inFlight ??= this.#probe().then((state) => {
      this.#cached = { at: (this.#o.now ?? Date.now)(), state };
      this.#inFlight = null;
      return state;
    });
    return this.#inFlight;
  }

  async #probe(): Promise<ModelState> {
    const origin = new URL(new URL(this.#o.baseUrl).origin);
    const probe = this.#o.probe ?? ((o, t) => headOrigin(o, t, this.#o.agent));
    try {
      await probe(origin, this.#o.timeoutMs ?? 5000);
      return "reachable";
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      return `unreachable: ${origin.origin} (${e.code ?? e.message})`;
    }
  }
}

/** HEAD `<origin>/`; resolves on any status line. */
export function headOrigin(origin: URL, timeoutMs: number, agent?: Agent): Promise<void> {
  const request = origin.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise<void>((resolve, reject) => {
    const req = request(
      origin,
      { method: "HEAD", timeout: timeoutMs, ...(agent ? { agent } : {}) },
      (res) => {
        res.resume();
        resolve();
      },
    );
    req.on("timeout", () => req.destroy(Object.assign(new Error("timed out"), { code: "ETIMEDOUT" })));
    req.on("error", reject);
    req.end();
  });
}
