import { randomBytes } from "node:crypto";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import type { ModelConfig } from "../config.js";
import { agentFor, type ProxySettings } from "../containers/sandbox/index.js";
import type { Logger } from "../log.js";

/** Options for {@link CredentialProxy}. */
export interface CredentialProxyOptions {
  model: ModelConfig;
  /** Outbound proxy for the upstream (the sandbox's HTTP(S)_PROXY). */
  proxy: ProxySettings;
  log: Logger;
  /** Address to listen on: the Docker bridge gateway (or loopback on Docker Desktop). */
  host: string;
  port?: number;
}

/** Path prefix of the proxy's single route; agents get `<url>` as their model base URL. */
const PREFIX = "/model";

/**
 * The only holder of the real model credential. Agent containers call it with a per-container
 * token as their "API key"; it swaps that for the real key, forwards to the upstream (through the
 * configured proxy), and streams the answer back unbuffered. Unknown tokens get 401 and nothing
 * is forwarded.
 */
export class CredentialProxy {
  readonly #o: CredentialProxyOptions;
  readonly #tokens = new Map<string, string>();
  readonly #inflight = new Set<http.ClientRequest>();
  readonly #server: http.Server;
  #url = "";

  constructor(options: CredentialProxyOptions) {
    this.#o = options;
    this.#server = http.createServer((req, res) => this.#handle(req, res));
  }

  /** Starts listening; resolves with the base URL agents use (before the gateway rewrite). */
  async listen(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(this.#o.port ?? 0, this.#o.host, () => resolve());
    });
    const { port } = this.#server.address() as AddressInfo;
    this.#url = `http://${this.#o.host}:${port}${PREFIX}`;
    return this.#url;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  /** The base URL path agents append the provider's API paths to. */
  static readonly pathPrefix = PREFIX;

  /** Issues a random token for one container, attributed to `chatId` in the usage log. */
  issueToken(chatId: string): string {
    const token = `nbx-${randomBytes(24).toString("hex")}`;
    this.#tokens.set(token, chatId);
    return token;
  }

  revokeToken(token: string): void {
    this.#tokens.delete(token);
  }

  async close(): Promise<void> {
    for (const r of this.#inflight) r.destroy();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #tokenOf(req: IncomingMessage): string | null {
    const key = req.headers["x-api-key"];
    if (typeof key === "string" && key) return key;
    const auth = req.headers.authorization;
    if (auth?.startsWith("Bearer ")) return auth.slice("Bearer ".length).trim();
    return null;
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const { log, model } = this.#o;
    const token = this.#tokenOf(req);
    const chatId = token ? this.#tokens.get(token) : undefined;
    if (!chatId) {
      log.warn({ path: req.url }, "credential proxy refused a request with an unknown token");
      req.resume();
      res.writeHead(401, { "content-type": "application/json" });
      res.end(
        JSON.stringify({ error: { type: "authentication_error", message: "unknown nestbox agent token" } }),
      );
      return;
    }
    if (!req.url?.startsWith(PREFIX)) {
      req.resume();
      res.writeHead(404).end();
      return;
    }
    const upstream = new URL(model.baseUrl + req.url.slice(PREFIX.length));
    const headers: http.OutgoingHttpHeaders = { ...req.headers, host: upstream.host };
    delete headers["x-api-key"];
    delete headers.authorization;
    delete headers.connection;
    if (model.apiKey) {
      if (model.provider === "anthropic") headers["x-api-key"] = model.apiKey;
      else headers.authorization = `Bearer ${model.apiKey}`;
    }
    const started = Date.now();
    const client = upstream.protocol === "https:" ? https : http;
    const outbound = client.request(
      upstream,
      { method: req.method, headers, agent: agentFor(upstream, this.#o.proxy) },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
        up.on("end", () =>
          log.info(
            { chatId, status: up.statusCode, ms: Date.now() - started, path: upstream.pathname },
            "model call",
          ),
        );
      },
    );
    this.#inflight.add(outbound);
    outbound.on("close", () => this.#inflight.delete(outbound));
    outbound.on("error", (err) => {
      const message = upstreamFailure(err, upstream);
      log.error({ err, chatId, upstream: upstream.origin }, message);
      if (!res.headersSent) {
        res.writeHead(502, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { type: "upstream_error", message } }));
      } else res.destroy(err);
    });
    req.pipe(outbound);
  }
}

const TLS_TRUST_CODES = new Set([
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_GET_ISSUER_CERT",
  "CERT_UNTRUSTED",
]);

/** What went wrong reaching the model, said so that the fix is clear. */
export function upstreamFailure(err: Error & { code?: string }, upstream: URL): string {
  if (err.code && TLS_TRUST_CODES.has(err.code)) {
    return (
      `TLS to the model endpoint ${upstream.host} failed (${err.code}): a TLS-intercepting proxy's CA is not ` +
      "trusted; set NODE_EXTRA_CA_CERTS to its CA file (see docs/sandboxes.md)"
    );
  }
  return `model endpoint ${upstream.origin} unreachable (${err.code ?? err.message}): check the base URL and the proxy settings`;
}
