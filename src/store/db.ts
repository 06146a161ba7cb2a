import { mkdirSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { StoreError } from "../errors.js";
import { migrations } from "./migrations.js";

/** An open nestbox database. */
export type Db = Database.Database;

/** Opens (creating if needed) the SQLite file in WAL mode and applies pending migrations. */
export function openDb(file: string): Db {
  if (file !== ":memory:") mkdirSync(path.dirname(file), { recursive: true });
  let db: Db;
  try {
    db = new Database(file);
  } catch (err) {
    throw new StoreError("STORE_OPEN", `cannot open the database at ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  cacheStatements(db);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.pragma("foreign_keys = ON");
  db.pragma("busy_timeout = 5000");
  migrate(db);
  return db;
}

/**
 * Every `db.prepare(sql)` returns one compiled statement per SQL text: the store prepares its
 * queries where it runs them, and compiling them on every message cost more than running them.
 * Safe because no caller changes a statement's mode (pluck, raw, expand) or iterates one.
 */
function cacheStatements(db: Db): void {
  const prepare = db.prepare.bind(db);
  const cache = new Map<string, Database.Statement>();
  db.prepare = ((sql: string) => {
    let statement = cache.get(sql);
    if (!statement) {
      statement = prepare(sql);
      cache.set(sql, statement);
    }
    return statement;
  }) as Db["prepare"];
}

function migrate(db: Db): void {
  const current = db.pragma("user_version", { simple: true }) as number;
  if (current > migrations.length) {
    throw new StoreError(
      "STORE_TOO_NEW",
      `the database is at schema version ${current}, newer than this nestbox (${migrations.length}); upgrade nestbox`,
    );
  }
  for (let v = current; v < migrations.length; v++) {
    const step = migrations[v] as string;
    db.transaction(() => {
      db.exec(step);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}
