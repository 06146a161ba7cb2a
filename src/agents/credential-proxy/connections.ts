import type { Socket } from "node:net";
import { normaliseAddress } from "./tokens.js";

/** What happened to a new connection. */
export type Admission = "accepted" | "refused-address" | "refused-overall" | "accepted-evicting";

/**
 * Caps open connections per source address and overall, fairly: when the proxy is full, a newcomer
 * from an address with fewer connections than the heaviest one closes one of that address's idle
 * connections (half-sent or keep-alive, never one with an answer in flight) instead of being refused.
 * So colluding containers that fill the overall cap still cannot lock another container out.
 */
export class ConnectionGuard {
  readonly #byAddress = new Map<string, Set<Socket>>();
  readonly #busy = new WeakSet<Socket>();
  #open = 0;

  constructor(
    readonly overall: number,
    readonly perAddress: number,
  ) {}

  get open(): number {
    return this.#open;
  }

  admit(socket: Socket): Admission {
    const address = normaliseAddress(socket.remoteAddress);
    const mine = this.#byAddress.get(address) ?? new Set<Socket>();
    if (mine.size >= this.perAddress) return this.#refuse(socket, "refused-address");
    let admission: Admission = "accepted";
    if (this.#open >= this.overall) {
      const victim = this.#evictable(mine.size);
      if (!victim) return this.#refuse(socket, "refused-overall");
      this.#forget(victim);
      victim.destroy();
      admission = "accepted-evicting";
    }
    mine.add(socket);
    this.#byAddress.set(address, mine);
    this.#open += 1;
    socket.once("close", () => this.#forget(socket));
    return admission;
  }

  /** Marks a connection as carrying a request to the upstream (not evictable) until `done`. */
  busy(socket: Socket): () => void {
    this.#busy.add(socket);
    return () => this.#busy.delete(socket);
  }

  #refuse(socket: Socket, why: Admission): Admission {
    socket.destroy();
    return why;
  }

  /** An idle connection of the heaviest address, if that address holds more than `than` + 1. */
  #evictable(than: number): Socket | null {
    let heaviest: Set<Socket> | null = null;
    for (const set of this.#byAddress.values()) if (!heaviest || set.size > heaviest.size) heaviest = set;
    if (!heaviest || heaviest.size <= than + 1) return null;
    for (const s of heaviest) if (!this.#busy.has(s)) return s;
    return null;
  }

  #forget(socket: Socket): void {
    const address = normaliseAddress(socket.remoteAddress);
    const set = this.#byAddress.get(address);
    if (!set?.delete(socket)) return;
    this.#open -= 1;
    if (set.size === 0) this.#byAddress.delete(address);
  }
}
