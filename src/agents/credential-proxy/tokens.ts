import { randomBytes } from "node:crypto";

interface Entry {
  chatId: string;
  /** undefined: issued, not bound yet (refused); null: bound to "any address" (runtime cannot tell). */
  address: string | null | undefined;
}

/** Why a token was refused, or whose it is. */
export type TokenCheck =
  | { ok: true; chatId: string; anyAddress: boolean }
  | { ok: false; status: 401 | 403; type: string; message: string };

/** IPv4-mapped IPv6 (`::ffff:10.0.0.2`) as plain IPv4, so a binding matches either spelling. */
export function normaliseAddress(address: string | undefined | null): string {
  if (!address) return "";
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice("::ffff:".length) : address;
}

/** Per-container tokens: issued for a chat, bound to the container's source address, revoked on stop. */
export class TokenRegistry {
  readonly #tokens = new Map<string, Entry>();

  issue(chatId: string): string {
    const token = `nbx-${randomBytes(24).toString("hex")}`;
    this.#tokens.set(token, { chatId, address: undefined });
    return token;
  }

  /** Binds a token to one source address; null accepts any address. Unknown tokens are ignored. */
  bind(token: string, address: string | null): void {
    const entry = this.#tokens.get(token);
    if (entry) entry.address = address === null ? null : normaliseAddress(address);
  }

  revoke(token: string): void {
    this.#tokens.delete(token);
  }

  check(token: string | null, remoteAddress: string | undefined): TokenCheck {
    const entry = token ? this.#tokens.get(token) : undefined;
    if (!entry) {
      return { ok: false, status: 401, type: "authentication_error", message: "unknown nestbox agent token" };
    }
    if (entry.address === undefined) {
      return {
        ok: false,
        status: 403,
        type: "permission_error",
        message: "token is not bound to a container yet",
      };
    }
    if (entry.address !== null && entry.address !== normaliseAddress(remoteAddress)) {
      return {
        ok: false,
        status: 403,
        type: "permission_error",
        message: "token was issued to another container",
      };
    }
    return { ok: true, chatId: entry.chatId, anyAddress: entry.address === null };
  }
}
