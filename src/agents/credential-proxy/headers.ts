import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import type { ModelConfig } from "../../config.js";
import type { Upstream } from "./routes.js";

/** Request headers the SDKs send that the upstream may see; everything else stays on the host. */
const REQUEST_ALLOWED = new Set([
  "accept",
  "accept-encoding",
  "accept-language",
  "content-type",
  "content-length",
  "user-agent",
  "anthropic-version",
  "anthropic-beta",
  "anthropic-dangerous-direct-browser-access",
]);
/** The Stainless-generated SDKs (OpenAI's and Anthropic's) describe themselves in these. */
const REQUEST_ALLOWED_PREFIX = "x-stainless-";

/** Hop-by-hop headers (RFC 9110 7.6.1) plus cookies: meaningless or unsafe past this hop. */
const RESPONSE_DROPPED = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "set-cookie",
]);

/**
 * The headers sent upstream: the allowlisted ones, the upstream's Host, and the real credential in
 * the provider's own header. Authorization, cookies, proxy and forwarding headers never pass.
 */
export function upstreamHeaders(
  incoming: IncomingHttpHeaders,
  upstream: Upstream,
  model: ModelConfig,
): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined) continue;
    if (REQUEST_ALLOWED.has(name) || name.startsWith(REQUEST_ALLOWED_PREFIX)) out[name] = value;
  }
  out.host = upstream.host;
  if (model.apiKey) {
    if (model.provider === "anthropic") out["x-api-key"] = model.apiKey;
    else out.authorization = `Bearer ${model.apiKey}`;
  }
  return out;
}

/** The upstream's response headers minus hop-by-hop ones (and those its Connection header names). */
export function downstreamHeaders(incoming: IncomingHttpHeaders): OutgoingHttpHeaders {
  const named = new Set(
    String(incoming.connection ?? "")
      .split(",")
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
  );
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || RESPONSE_DROPPED.has(name) || named.has(name)) continue;
    out[name] = value;
  }
  return out;
}

/** The agent's token: the Anthropic SDK sends `x-api-key`, the OpenAI SDK a Bearer authorization. */
export function tokenOf(incoming: IncomingHttpHeaders): string | null {
  const key = incoming["x-api-key"];
  if (typeof key === "string" && key) return key;
  const auth = incoming.authorization;
  if (auth?.startsWith("Bearer ")) return auth.slice("Bearer ".length).trim() || null;
  return null;
}
