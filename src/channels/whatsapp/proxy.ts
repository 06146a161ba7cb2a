import type { Agent } from "node:http";
import { HttpsProxyAgent } from "https-proxy-agent";

/** The host baileys' WebSocket connects to. */
const WHATSAPP_WEB_HOST = "web.whatsapp.com";

/** Whether a `NO_PROXY` list (comma or space separated) covers `host`. */
export function noProxyCovers(noProxy: string | undefined, host: string): boolean {
  for (const raw of (noProxy ?? "").split(/[\s,]+/)) {
    const entry = raw.trim().toLowerCase().replace(/:\d+$/, "");
    if (entry === "") continue;
    if (entry === "*") return true;
    const bare = entry.replace(/^\*?\./, "");
    if (host === bare || host.endsWith(`.${bare}`)) return true;
  }
  return false;
}

/**
 * A proxy agent for baileys (`agent` and `fetchAgent`) from `HTTPS_PROXY` / `HTTP_PROXY` in `env`,
 * or undefined when none is set or `NO_PROXY` lets WhatsApp's hosts go direct (the Noise handshake
 * does not survive a TLS-intercepting proxy; see docs/whatsapp.md).
 */
export function whatsappProxyAgent(env: Record<string, string | undefined>): Agent | undefined {
  const proxy = env.HTTPS_PROXY || env.https_proxy || env.HTTP_PROXY || env.http_proxy;
  if (!proxy) return undefined;
  if (noProxyCovers(env.NO_PROXY || env.no_proxy, WHATSAPP_WEB_HOST)) return undefined;
  return new HttpsProxyAgent(proxy);
}
