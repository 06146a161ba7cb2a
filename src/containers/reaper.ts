import type { Logger } from "../log.js";
import { LABELS } from "./agent-spec.js";
import type { ContainerRuntime } from "./container-runtime.js";
import { SWARM_SERVICE_LABEL } from "./labels.js";

/** Options for {@link Reaper}. */
export interface ReaperOptions {
  runtime: ContainerRuntime;
  installId: string;
  /** Ids and names of the containers the supervisor owns right now. */
  owned: () => Set<string>;
  /**
   * Whether this process holds the data folder's single-instance lock. Only the host that holds it may
   * call an install's containers orphans: any other process (a refused second host, a command) reaps nothing.
   */
  holdsDataFolder: () => boolean;
  /** The container nestbox itself runs in (full id or 12-char prefix), never touched. */
  ownContainerId: string | null;
  log: Logger;
  intervalMs?: number;
}

/**
 * Removes orphaned agent containers (or, on a swarm, services): labelled with this install, not owned by
 * the supervisor. Never touches other installs, unlabelled containers, the container nestbox runs in, or
 * a swarm task's container (its service is what gets reaped).
 */
export class Reaper {
  readonly #o: ReaperOptions;
  #timer: NodeJS.Timeout | null = null;

  constructor(options: ReaperOptions) {
    this.#o = options;
  }

  #isSelf(id: string): boolean {
    const own = this.#o.ownContainerId;
    return !!own && (id.startsWith(own) || own.startsWith(id));
  }

  /** One reconciliation pass; returns the names of the containers it removed. */
  async reap(): Promise<string[]> {
    const { runtime, installId, log } = this.#o;
    if (!this.#o.holdsDataFolder()) {
      log.warn(
        "not reaping: this process does not hold the data folder's lock, so another host may own them",
      );
      return [];
    }
    const candidates = await runtime.list({ [LABELS.install]: installId });
    const owned = this.#o.owned();
    const removed: string[] = [];
    for (const c of candidates) {
      if (c.labels[LABELS.install] !== installId) continue;
      // A swarm task's container belongs to its service: the swarm runtime's reaper removes the service.
      if (c.labels[SWARM_SERVICE_LABEL] !== undefined) continue;
      if (owned.has(c.id) || owned.has(c.name) || this.#isSelf(c.id)) continue;
      try {
        await runtime.remove(c.id);
        removed.push(c.name);
      } catch (err) {
        log.warn({ err, container: c.name }, "could not remove an orphaned agent container");
      }
    }
    if (removed.length > 0) log.info({ removed }, "removed orphaned agent containers");
    return removed;
  }

  /** Reaps now, then every `intervalMs` (default one minute). */
  async start(): Promise<string[]> {
    const removed = await this.reap();
    this.#timer = setInterval(() => {
      this.reap().catch((err: unknown) => this.#o.log.warn({ err }, "reaper pass failed"));
    }, this.#o.intervalMs ?? 60_000);
    this.#timer.unref();
    return removed;
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }
}
