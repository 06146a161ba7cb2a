import type { Agent } from "node:http";
import { agentFor, type ProxySettings } from "../../sandbox/index.js";

/** The host baileys' WebSocket connects to. */
const WHATSAPP_WEB = new URL("https://web.whatsapp.com");

/**
 * A proxy agent for baileys (`agent` and `fetchAgent`) from the sandbox's proxy settings, or
 * undefined when none is set or `NO_PROXY` lets WhatsApp's hosts go direct (the Noise handshake
 * does not survive a TLS-intercepting proxy; see docs/whatsapp.md).
 */
export function whatsappProxyAgent(proxy: ProxySettings): Agent | undefined {
  return agentFor(WHATSAPP_WEB, proxy);
}
