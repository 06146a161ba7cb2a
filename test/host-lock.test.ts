import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type LiveProcess, runNestbox, startHost } from "./process.js";
import { waitFor } from "./wait.js";

/**
 * A "Docker engine" that accepts connections and never answers: a host that reaches it waits there,
 * holding its data folder, and every connection is counted (a refused host must make none).
 */
let engine: Server;
let connections = 0;
const sockets = new Set<Socket>();
let cwd: string;
const hosts: LiveProcess[] = [];

beforeEach(async () => {
  cwd = mkdtempSync(path.join(tmpdir(), "nestbox-lock-"));
  connections = 0;
  engine = createServer((s) => {
    connections++;
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
  });
  await new Promise<void>((r) => engine.listen(0, "127.0.0.1", r));
});
afterEach(async () => {
  for (const h of hosts.splice(0)) await h.kill("SIGKILL");
  for (const s of sockets) s.destroy();
  await new Promise<void>((r) => engine.close(() => r()));
  rmSync(cwd, { recursive: true, force: true });
});

const env = () => {
  const port = (engine.address() as { port: number }).port;
  return { MODEL: "m", OPENAI_BASE_URL: "http://127.0.0.1:1/v1", DOCKER_HOST: `tcp://127.0.0.1:${port}` };
};

/** A real `nestbox start`, waiting on the silent engine once it holds the data folder. */
async function runningHost(): Promise<LiveProcess> {
  const before = connections;
  const host = startHost(cwd, env(), ["--terminal"]);
  hosts.push(host);
  await waitFor(() => connections > before, "the host asking the engine", 20_000);
  return host;
}

describe("one host per data folder", () => {
  it("a second start exits 1 naming the running host's pid, before it touches Docker", async () => {
    const first = await runningHost();
    const seen = connections;
    const second = await runNestbox(cwd, ["start"], { env: env() });
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(
      `another nestbox host is already running on the data folder ${path.join(cwd, "data")}`,
    );
    expect(second.stderr).toContain(`pid ${first.child.pid}, started 20`);
    expect(connections).toBe(seen);
    expect(first.child.exitCode).toBeNull();
  });

  it("after the holder is SIGKILLed, the next start takes the data folder at once", async () => {
    const first = await runningHost();
    await first.kill("SIGKILL");
    const startedAt = Date.now();
    const next = await runningHost();
    expect(Date.now() - startedAt).toBeLessThan(10_000);
    expect(next.stderr()).not.toContain("already running");
    const refused = await runNestbox(cwd, ["start"], { env: env() });
    expect(refused.stderr).toContain(`pid ${next.child.pid},`);
  });

  it("a health port in use stops the start with an error naming NESTBOX_HEALTH_PORT, and frees the folder", async () => {
    const taken = (engine.address() as { port: number }).port;
    const r = await runNestbox(cwd, ["start"], { env: { ...env(), NESTBOX_HEALTH_PORT: String(taken) } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `error: the health endpoint cannot listen on 127.0.0.1:${taken}: the port is in use (another nestbox on this machine?); set NESTBOX_HEALTH_PORT to a free port (0 picks any), or NESTBOX_HEALTH=off`,
    );
    expect(connections).toBe(0);
    // The lock went with it: the next start gets past it (to the engine).
    await runningHost();
  });
});
