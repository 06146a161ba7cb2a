import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { HostRunningError } from "../errors.js";
import { type FileLock, isFileLocked, tryExclusiveLock } from "../store/file-lock.js";

/** Who holds (or last held) a data folder: written beside the lock by the host that took it. */
export interface HostRecord {
  pid: number;
  /** ms since the epoch. */
  startedAt: number;
  version: string;
  /** The port the health endpoint listens on; null while it is not (yet) listening or switched off. */
  healthPort: number | null;
  /** The address it listens on (loopback by default). */
  healthHost: string | null;
}

/** The lock file and the record file of a data folder. */
export const lockFiles = (dataDir: string) => ({
  lock: path.join(dataDir, "host.lock"),
  record: path.join(dataDir, "host.json"),
});

/** The record the last host that took the lock wrote, or null (never started, unreadable). */
export function readHostRecord(dataDir: string): HostRecord | null {
  const file = lockFiles(dataDir).record;
  if (!existsSync(file)) return null;
  try {
    const r = JSON.parse(readFileSync(file, "utf8")) as Partial<HostRecord>;
    if (typeof r.pid !== "number" || typeof r.startedAt !== "number") return null;
    return {
      pid: r.pid,
      startedAt: r.startedAt,
      version: typeof r.version === "string" ? r.version : "unknown",
      healthPort: typeof r.healthPort === "number" ? r.healthPort : null,
      healthHost: typeof r.healthHost === "string" ? r.healthHost : null,
    };
  } catch {
    return null;
  }
}

/** Whether a live process holds the data folder's lock right now. */
export function hostIsRunning(dataDir: string): boolean {
  return isFileLocked(lockFiles(dataDir).lock);
}

/**
 * The single-instance lock of a data folder: one host per folder, held for the process's life and
 * dropped by the kernel when it dies (so a lock left by a SIGKILL is simply taken over).
 */
export class InstanceLock {
  #record: HostRecord;
  #held = true;

  private constructor(
    readonly dataDir: string,
    private readonly lock: FileLock,
    record: HostRecord,
  ) {
    this.#record = record;
    this.#write();
  }

  /**
   * Takes the lock or throws HostRunningError naming the holder's pid and start time. Waits up to
   * `waitMs` (default 2 s) so a `status` probing at that instant does not refuse a start.
   */
  static acquire(
    dataDir: string,
    record: Omit<HostRecord, "healthPort" | "healthHost">,
    options: { waitMs?: number } = {},
  ): InstanceLock {
    const lock = tryExclusiveLock(lockFiles(dataDir).lock, options.waitMs ?? 2000);
    if (!lock) {
      const holder = readHostRecord(dataDir);
      throw new HostRunningError(dataDir, holder && { pid: holder.pid, startedAt: holder.startedAt });
    }
    return new InstanceLock(dataDir, lock, { ...record, healthPort: null, healthHost: null });
  }

  /** True until {@link release}. */
  get held(): boolean {
    return this.#held;
  }

  get record(): HostRecord {
    return this.#record;
  }

  /** Records where the health endpoint listens, for `status`. */
  setHealth(host: string | null, port: number | null): void {
    this.#record = { ...this.#record, healthHost: host, healthPort: port };
    this.#write();
  }

  /** Lets the next host in; the record stays, describing the last host. */
  release(): void {
    this.#held = false;
    this.lock.release();
  }

  #write(): void {
    // Written whole then renamed: a reader never sees half a record.
    const file = lockFiles(this.dataDir).record;
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(this.#record)}\n`);
    renameSync(tmp, file);
  }
}
