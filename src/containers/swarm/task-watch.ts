import { ContainerError } from "../../errors.js";
import type { SwarmEngine, TaskView } from "./engine.js";
import { newestTasks } from "./service-spec.js";

/** What a watcher decides from a service's newest task: a value ends the watch, undefined keeps it. */
export type TaskPick<T> = (task: TaskView | undefined, gone: boolean) => T | undefined;

interface Watcher {
  pick: TaskPick<unknown>;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/** Consecutive failed polls (engine unreachable) after which every watcher is rejected. */
const MAX_FAILURES = 30;

/**
 * One poller for every service anyone waits on: each tick lists the tasks of all watched services in
 * one call and hands each watcher its service's newest task. Runs only while someone watches.
 */
export class TaskWatch {
  readonly #engine: Pick<SwarmEngine, "listTasks" | "listServices">;
  readonly #pollMs: number;
  readonly #watchers = new Map<string, Set<Watcher>>();
  /** The newest task seen per watched service: what a watcher gets once its service is gone. */
  readonly #last = new Map<string, TaskView>();
  #timer: NodeJS.Timeout | null = null;
  #failures = 0;

  constructor(engine: Pick<SwarmEngine, "listTasks" | "listServices">, pollMs: number) {
    this.#engine = engine;
    this.#pollMs = pollMs;
  }

  /** Resolves with the first value `pick` gives for the service (checked at every tick). */
  until<T>(serviceId: string, pick: TaskPick<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let set = this.#watchers.get(serviceId);
      if (!set) {
        set = new Set();
        this.#watchers.set(serviceId, set);
      }
      set.add({ pick, resolve: resolve as (v: unknown) => void, reject });
      this.#schedule(0);
    });
  }

  /** How many services are watched (for tests: one poller, however many waiters). */
  get watched(): number {
    return this.#watchers.size;
  }

  #schedule(ms: number): void {
    if (this.#timer || this.#watchers.size === 0) return;
    this.#timer = setTimeout(() => {
      void this.#tick().finally(() => {
        this.#timer = null;
        this.#schedule(this.#pollMs);
      });
    }, ms);
  }

  async #tick(): Promise<void> {
    const ids = [...this.#watchers.keys()];
    try {
      let tasks: TaskView[];
      try {
        tasks = await this.#engine.listTasks({ service: ids });
      } catch (err) {
        // A missing service fails the whole call: find which are gone, end their watches, ask again.
        if (!(err instanceof ContainerError && err.code === "DOCKER_404")) throw err;
        const alive = new Set((await this.#engine.listServices({ id: ids })).map((s) => s.ID));
        for (const id of ids) if (!alive.has(id)) this.#deliver(id, this.#last.get(id), true);
        const rest = ids.filter((id) => alive.has(id));
        tasks = rest.length ? await this.#engine.listTasks({ service: rest }) : [];
      }
      this.#failures = 0;
      const newest = newestTasks(tasks);
      for (const id of [...this.#watchers.keys()]) {
        const task = newest.get(id);
        if (task) this.#last.set(id, task);
        this.#deliver(id, task, false);
      }
    } catch (err) {
      if (++this.#failures < MAX_FAILURES) return;
      for (const [id, set] of this.#watchers) {
        for (const w of set) w.reject(err);
        this.#watchers.delete(id);
        this.#last.delete(id);
      }
    }
  }

  #deliver(id: string, task: TaskView | undefined, gone: boolean): void {
    const set = this.#watchers.get(id);
    if (!set) return;
    for (const w of set) {
      let value: unknown;
      try {
        value = w.pick(task, gone);
      } catch (err) {
        set.delete(w);
        w.reject(err);
        continue;
      }
      if (value !== undefined || gone) {
        set.delete(w);
        w.resolve(value);
      }
    }
    if (set.size === 0) {
      this.#watchers.delete(id);
      this.#last.delete(id);
    }
  }
}

/** Waits for `promise`, or fails with `error` after `ms`. */
export async function within<T>(promise: Promise<T>, ms: number, error: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(error()), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
