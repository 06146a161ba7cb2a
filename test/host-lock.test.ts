import path from "node:path";
import { describe, expect, it } from "vitest";
import { useSilentEngine } from "./doubles/silent-engine.js";
import { type LiveProcess, runNestbox, startHost } from "./process.js";
import { waitFor } from "./wait.js";

const t = useSilentEngine("nestbox-lock-");

const env = () => {
  const port = (t.engine.address() as { port: number }).port;
  return { MODEL: "m", OPENAI_BASE_URL: "http://127.0.0.1:1/v1", DOCKER_HOST: `tcp://127.0.0.1:${port}` };
};

/** A real `nestbox start`, waiting on the silent engine once it holds the data folder. */
async function runningHost(): Promise<LiveProcess> {
  const before = t.connections;
  const host = startHost(t.cwd, env(), ["--terminal"]);
  t.hosts.push(host);
  await waitFor(() => t.connections > before, "the host asking the engine", 20_000);
  return host;
}

describe("one host per data folder", () => {
  it("a second start exits 1 naming the running host's pid, before it touches Docker", async () => {
    const first = await runningHost();
    const seen = t.connections;
    const second = await runNestbox(t.cwd, ["start"], { env: env() });
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(
      `another nestbox host is already running on the data folder ${path.join(t.cwd, "data")}`,
    );
    expect(second.stderr).toContain(`pid ${first.child.pid}, started 20`);
    expect(t.connections).toBe(seen);
    expect(first.child.exitCode).toBeNull();
  });

  it("after the holder is SIGKILLed, the next start takes the data folder at once", async () => {
    const first = await runningHost();
    await first.kill("SIGKILL");
    const startedAt = Date.now();
    const next = await runningHost();
    expect(Date.now() - startedAt).toBeLessThan(10_000);
    expect(next.stderr()).not.toContain("already running");
    const refused = await runNestbox(t.cwd, ["start"], { env: env() });
    expect(refused.stderr).toContain(`pid ${next.child.pid},`);
  });

  it("a health port in use stops the start with an error naming NESTBOX_HEALTH_PORT, and frees the folder", async () => {
    const taken = (t.engine.address() as { port: number }).port;
    const r = await runNestbox(t.cwd, ["start"], { env: { ...env(), NESTBOX_HEALTH_PORT: String(taken) } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `error: the health endpoint cannot listen on 127.0.0.1:${taken}: the port is in use (another nestbox on this machine?); set NESTBOX_HEALTH_PORT to a free port (0 picks any), or NESTBOX_HEALTH=off`,
    );
    expect(t.connections).toBe(0);
    // The lock went with it: the next start gets past it (to the engine).
    await runningHost();
  });
});
