import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { StoreError } from "../errors.js";

/** An exclusive OS-level lock on one file, held until `release()` or the death of the process. */
export interface FileLock {
  release(): void;
}

const busy = (err: unknown) => (err as { code?: string }).code?.startsWith("SQLITE_BUSY") === true;

/**
 * Takes an exclusive lock on `file` (created when missing), waiting up to `waitMs` for a reader to let
 * go; null when another process holds it.
 *
 * Why SQLite and not a pid file or a socket: SQLite's unix VFS locks with fcntl(), which the kernel
 * drops when the holder dies, SIGKILL included, so a stale lock needs no cleanup and no pid guess; the
 * test-and-take is one atomic call (a socket path has an unlink-and-rebind race, a length limit, and
 * does not exist on every filesystem a data folder lives on); and better-sqlite3 is already here.
 */
export function tryExclusiveLock(file: string, waitMs = 0): FileLock | null {
  mkdirSync(path.dirname(file), { recursive: true });
  let db: Database.Database;
  try {
    db = new Database(file);
  } catch (err) {
    throw new StoreError("LOCK_OPEN", `cannot open the lock file ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  try {
    db.pragma(`busy_timeout = ${Math.max(0, Math.round(waitMs))}`);
    // The lock file stays a rollback-journal database: EXCLUSIVE then locks the file itself at BEGIN.
    db.pragma("locking_mode = EXCLUSIVE");
    // Never committed: the transaction, and with it the lock, lasts as long as the connection.
    db.exec("BEGIN EXCLUSIVE");
  } catch (err) {
    db.close();
    if (busy(err)) return null;
    throw new StoreError("LOCK_TAKE", `cannot lock ${file}: ${(err as Error).message}`, { cause: err });
  }
  return {
    release: () => {
      if (db.open) db.close();
    },
  };
}

/**
 * Whether some process holds the lock on `file` now (false when the file does not exist). Takes a
 * shared lock for an instant, never creates or writes the file.
 */
export function isFileLocked(file: string): boolean {
  if (!existsSync(file)) return false;
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch {
    return false;
  }
  try {
    db.pragma("busy_timeout = 0");
    db.prepare("SELECT count(*) FROM sqlite_master").get();
    return false;
  } catch (err) {
    if (busy(err)) return true;
    throw new StoreError("LOCK_PROBE", `cannot read the lock file ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  } finally {
    db.close();
  }
}
