import type { Agent } from "node:http";
import { HttpsProxyAgent } from "https-proxy-agent";
import type { ProxySettings } from "./detect.js";

/** Whether `NO_PROXY` exempts a host (exact, `.suffix`/suffix match, `*`, optional port ignored). */
export function bypassesProxy(hostname: string, noProxy: readonly string[]): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, "");
  return noProxy.some((raw) => {
    const entry = raw.toLowerCase().replace(/:\d+$/, "");
    if (entry === "*") return true;
    const bare = entry.replace(/^\*?\./, "");
    return host === bare || host.endsWith(`.${bare}`);
  });
}

/** The proxy URL to use for `url`, or null for a direct connection. */
export function proxyFor(url: URL, proxy: ProxySettings): string | null {
  if (bypassesProxy(url.hostname, proxy.noProxy)) return null;
  return url.protocol === "https:" ? (proxy.httpsProxy ?? proxy.httpProxy) : proxy.httpProxy;
}

/** An `https-proxy-agent` for `url` when a proxy applies to it, else undefined (direct). */
export function agentFor(url: URL, proxy: ProxySettings): Agent | undefined {
  const via = proxyFor(url, proxy);
  return via ? new HttpsProxyAgent(via) : undefined;
}
