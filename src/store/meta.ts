import { randomBytes } from "node:crypto";
import type { Db } from "./db.js";

/** When the last host started, was last seen alive, and stopped cleanly (null: never / not yet). */
export interface HostLife {
  startedAt: number | null;
  heartbeatAt: number | null;
  stoppedAt: number | null;
}

/** Small key/value facts about the installation. */
export class MetaTable {
  constructor(private readonly db: Db) {}

  get(key: string): string | null {
    const r = this.db.prepare("SELECT value FROM meta WHERE key = ?").get(key) as
      | { value: string }
      | undefined;
    return r?.value ?? null;
  }

  set(key: string, value: string): void {
    this.db
      .prepare(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      )
      .run(key, value);
  }

  /** Why the host refuses new turns for lack of disk (set while it does), for `status`. */
  diskLow(): string | null {
    return this.get("disk_low");
  }

  setDiskLow(message: string | null): void {
    if (message) this.set("disk_low", message);
    else this.db.prepare("DELETE FROM meta WHERE key = 'disk_low'").run();
  }

  /** The host's lifecycle marks (ms since the epoch), for `status`: started, last heartbeat, clean stop. */
  hostLife(): HostLife {
    const n = (key: string) => {
      const v = this.get(key);
      return v === null ? null : Number(v);
    };
    return {
      startedAt: n("host_started_at"),
      heartbeatAt: n("host_heartbeat_at"),
      stoppedAt: n("host_stopped_at"),
    };
  }

  /** A host took the data folder: started now, alive now, not stopped. */
  markHostStarted(at: number): void {
    this.db.transaction(() => {
      this.set("host_started_at", String(at));
      this.set("host_heartbeat_at", String(at));
      this.db.prepare("DELETE FROM meta WHERE key = 'host_stopped_at'").run();
    })();
  }

  /** The running host is still alive at `at`. */
  markHostAlive(at: number): void {
    this.set("host_heartbeat_at", String(at));
  }

  /** The host stopped cleanly at `at` (absent after a crash). */
  markHostStopped(at: number): void {
    this.db.transaction(() => {
      this.set("host_heartbeat_at", String(at));
      this.set("host_stopped_at", String(at));
    })();
  }

  /** A stable id for this installation (labels its containers); created on first use. */
  installId(): string {
    const existing = this.get("install_id");
    if (existing) return existing;
    const id = randomBytes(4).toString("hex");
    this.set("install_id", id);
    return id;
  }
}
