import { type ServerResponse, STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import type { Upstream } from "./routes.js";

/** Answers with a JSON error both SDKs parse (`error.message`); closes the connection when asked. */
export function refuse(
  res: ServerResponse,
  status: number,
  type: string,
  message: string,
  extra: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ type: "error", error: { type, message } });
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
    ...extra,
  });
  res.end(body);
}

/**
 * Answers a request the HTTP parser refused (malformed, header overflow, timeout) and closes the
 * socket. A connection whose answer has started is just closed: a status line cannot be written.
 */
export function refuseRaw(socket: Duplex, code: string | undefined, busy: boolean): void {
  if (code === "ECONNRESET" || busy || !socket.writable) {
    socket.destroy();
    return;
  }
  const status = code === "HPE_HEADER_OVERFLOW" ? 431 : code === "ERR_HTTP_REQUEST_TIMEOUT" ? 408 : 400;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`,
    () => socket.destroy(),
  );
}

/** Error codes that mean "this host does not trust the endpoint's certificate chain". */
export const TLS_TRUST_CODES: ReadonlySet<string> = new Set([
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_GET_ISSUER_CERT",
  "CERT_UNTRUSTED",
]);

/** What went wrong reaching the model, said so that the fix is clear. */
export function upstreamFailure(
  err: Error & { code?: string },
  upstream: Pick<Upstream, "host" | "origin">,
): string {
  if (err.code && TLS_TRUST_CODES.has(err.code)) {
    return (
      `TLS to the model endpoint ${upstream.host} failed (${err.code}): a TLS-intercepting proxy's CA is not ` +
      "trusted; set NODE_EXTRA_CA_CERTS to its CA file (see docs/sandboxes.md)"
    );
  }
  return `model endpoint ${upstream.origin} unreachable (${err.code ?? err.message}): check the base URL and the proxy settings`;
}

/** Lets one log line per key through per window and counts the rest, so a flood cannot flood the log. */
export class LogThrottle {
  readonly #last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    readonly windowMs: number,
    readonly now: () => number = Date.now,
  ) {}

  /** null: stay quiet; otherwise how many lines of this key were suppressed since the last one. */
  pass(key: string): number | null {
    const t = this.now();
    const e = this.#last.get(key);
    if (e && t - e.at < this.windowMs) {
      e.suppressed += 1;
      return null;
    }
    this.#last.set(key, { at: t, suppressed: 0 });
    return e?.suppressed ?? 0;
  }
}
