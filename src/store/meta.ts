import { randomBytes } from "node:crypto";
import type { Db } from "./db.js";

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

  /** A stable id for this installation (labels its containers); created on first use. */
  installId(): string {
    const existing = this.get("install_id");
    if (existing) return existing;
    const id = randomBytes(4).toString("hex");
    this.set("install_id", id);
    return id;
  }
}
