import type { ModelProvider } from "../../config.js";
import { ConfigError } from "../../errors.js";

/** The upstream, fixed once from the configured base URL: nothing in a request can change it. */
export interface Upstream {
  protocol: "http:" | "https:";
  hostname: string;
  /** Numeric port (the scheme's default when the URL names none). */
  port: number;
  /** `host[:port]` as the Host header carries it. */
  host: string;
  origin: string;
  /** The base URL's path without a trailing slash ("" for a path-less base URL). */
  basePath: string;
}

/**
 * Parses the model base URL into a fixed upstream. Throws a ConfigError for anything but a plain
 * http(s) origin plus path: user info, a query or a fragment would be silently changed or leaked.
 */
export function parseUpstream(baseUrl: string, variable = "the model base URL"): Upstream {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new ConfigError([`${variable} is not a URL`]);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ConfigError([`${variable} must be http(s), got ${url.protocol}`]);
  }
  // Never echo the URL itself: its user info may be a password.
  if (url.username || url.password) {
    throw new ConfigError([
      `${variable} (${url.host}) must not contain a user name or password: put the key in the provider's API key variable`,
    ]);
  }
  if (url.search || url.hash) {
    throw new ConfigError([`${variable} (${url.origin}) must not have a query or fragment`]);
  }
  const port = url.port ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
  return {
    protocol: url.protocol,
    hostname: url.hostname,
    port,
    host: url.host,
    origin: url.origin,
    basePath: url.pathname.replace(/\/+$/, ""),
  };
}

/** Path prefix of the proxy's routes; agents get `<origin>/model` as their model base URL. */
export const PREFIX = "/model";

/**
 * The only (path after /model, methods) pairs that reach the upstream, per wire format: what the
 * runner's SDKs send (OpenAI: base URL + /chat/completions; Anthropic: + /v1/messages) and the
 * read-only model listing `setup environment` probes with.
 */
const ROUTES: Record<ModelProvider, Readonly<Record<string, readonly string[]>>> = {
  openai: { "/chat/completions": ["POST"], "/models": ["GET"] },
  anthropic: {
    "/v1/messages": ["POST"],
    "/v1/messages/count_tokens": ["POST"],
    "/v1/models": ["GET"],
  },
};

/** Query parameters passed on verbatim (the Anthropic SDK's beta endpoints add `beta=true`); others are dropped. */
const QUERY: Record<ModelProvider, ReadonlySet<string>> = {
  openai: new Set(),
  anthropic: new Set(["beta=true"]),
};

/** A request target the gateway forwards, or why it refuses one. */
export type Routed =
  | {
      ok: true /** Upstream path and kept query. */;
      path: string /** The allowlisted route. */;
      route: string;
    }
  | { ok: false; status: 400 | 404 | 405 | 414; message: string; allow?: string };

const MAX_TARGET = 2048;
// Controls, space, DEL and anything non-ASCII; `#` never belongs in a request target.
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it looks for
const FORBIDDEN_ANYWHERE = /[\u0000-\u0020\u007f-\uffff#@\\]/;

/**
 * Normalises a request target and maps it onto the allowlist. Only origin-form targets under
 * exactly `/model/` pass; anything ambiguous (dot segments, any percent escape, `@`, `//`,
 * backslashes, absolute or authority form) is refused before the allowlist is even consulted.
 */
export function routeRequest(
  method: string | undefined,
  target: string | undefined,
  provider: ModelProvider,
  upstream: Upstream,
): Routed {
  if (!target || !method) return bad("missing request target");
  if (target.length > MAX_TARGET) return { ok: false, status: 414, message: "request target too long" };
  if (FORBIDDEN_ANYWHERE.test(target)) return bad("request target has a forbidden character");
  if (!target.startsWith("/")) return bad("only origin-form request targets are accepted");
  const q = target.indexOf("?");
  const path = q === -1 ? target : target.slice(0, q);
  const query = q === -1 ? "" : target.slice(q + 1);
  if (path.includes("%")) return bad("percent escapes are not accepted in the path");
  if (path.includes("//")) return bad("empty path segments are not accepted");
  if (path.split("/").some((s) => s === "." || s === "..")) return bad("dot segments are not accepted");
  if (!path.startsWith(`${PREFIX}/`)) return notFound(path);
  const route = path.slice(PREFIX.length);
  const methods = ROUTES[provider][route];
  if (!methods) return notFound(path);
  if (!methods.includes(method)) {
    return {
      ok: false,
      status: 405,
      message: `${method} is not allowed on ${path}`,
      allow: methods.join(", "),
    };
  }
  const kept = query.split("&").filter((p) => QUERY[provider].has(p));
  return { ok: true, route, path: `${upstream.basePath}${route}${kept.length ? `?${kept.join("&")}` : ""}` };
}

function bad(message: string): Routed {
  return { ok: false, status: 400, message };
}

function notFound(path: string): Routed {
  return { ok: false, status: 404, message: `no model route ${path.slice(0, 200)}` };
}
