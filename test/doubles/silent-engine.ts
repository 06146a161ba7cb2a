import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach } from "vitest";
import type { LiveProcess } from "../process.js";

/** What {@link useSilentEngine} gives each test: the engine, its connection count, a folder, hosts to kill. */
export interface SilentEngine {
  engine: Server;
  connections: number;
  cwd: string;
  hosts: LiveProcess[];
}

/**
 * A "Docker engine" that accepts connections and never answers: a host that reaches it waits there,
 * holding its data folder, and every connection is counted (a refused host must make none). Fresh for
 * each test, with a fresh working folder; hosts pushed to `hosts` are SIGKILLed after it.
 */
export function useSilentEngine(prefix: string): SilentEngine {
  const t = { connections: 0, cwd: "", hosts: [] } as unknown as SilentEngine;
  const sockets = new Set<Socket>();
  beforeEach(async () => {
    t.cwd = mkdtempSync(path.join(tmpdir(), prefix));
    t.connections = 0;
    t.engine = createServer((s) => {
      t.connections++;
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {});
    });
    await new Promise<void>((r) => t.engine.listen(0, "127.0.0.1", r));
  });
  afterEach(async () => {
    for (const h of t.hosts.splice(0)) await h.kill("SIGKILL");
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => t.engine.close(() => r()));
    rmSync(t.cwd, { recursive: true, force: true });
  });
  return t;
}
