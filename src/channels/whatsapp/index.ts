export type { Backoff } from "../../backoff.js";
export { createWhatsAppAdapter, WhatsAppAdapter, type WhatsAppAdapterConfig } from "./adapter.js";
export { hasRegisteredCredentials, readLinkedAccount } from "./auth-state.js";
export type { Timers } from "./connection.js";
export { type LinkEvent, type LinkOptions, type LinkResult, linkWhatsApp } from "./link.js";
export { whatsappProxyAgent } from "./proxy.js";
export type { SocketFactory, SocketOptions, WhatsAppSocket } from "./socket.js";
