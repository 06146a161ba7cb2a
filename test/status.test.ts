import path from "node:path";
import { describe, expect, it } from "vitest";
import { useSilentEngine } from "./doubles/silent-engine.js";
import { type LiveProcess, runNestbox, startHost } from "./process.js";
import { waitFor } from "./wait.js";

const t = useSilentEngine("nestbox-status-");

const model = {
  MODEL: "llama3.1:8b",
  OPENAI_BASE_URL: "http://127.0.0.1:1/v1",
  OPENAI_API_KEY: "sk-secret-key",
};
// status itself asks an engine address that refuses at once.
const status = (args: string[] = []) =>
  runNestbox(t.cwd, ["status", ...args], { env: { ...model, DOCKER_HOST: "tcp://127.0.0.1:1" } });

async function holdingHost(): Promise<LiveProcess> {
  const port = (t.engine.address() as { port: number }).port;
  const host = startHost(t.cwd, { ...model, DOCKER_HOST: `tcp://127.0.0.1:${port}` }, ["--terminal"]);
  t.hosts.push(host);
  await waitFor(() => t.connections > 0, "the host asking the engine", 20_000);
  return host;
}

describe("nestbox status tells running, crashed and stopped apart", () => {
  it("running: pid, uptime, version, model without its key, the endpoint's answer; crashed after SIGKILL", async () => {
    const host = await holdingHost();
    const r = await status();
    // Running, but the Docker engine does not answer status: exit 4.
    expect(r.code).toBe(4);
    expect(r.stdout).toMatch(
      new RegExp(`^Host:     running, pid ${host.child.pid}, up 0m \\d+s, version 0\\.1\\.0$`, "m"),
    );
    // The host is still building (waiting on its engine): its own endpoint says so.
    expect(r.stdout).toMatch(/^Ready: {4}NO: starting$/m);
    expect(r.stdout).toContain("Model:    openai llama3.1:8b at http://127.0.0.1:1");
    expect(r.stdout).toContain("Agents:   unknown: the Docker engine does not answer");
    expect(r.stdout).not.toContain("sk-secret-key");
    const json = await status(["--json"]);
    expect(json.code).toBe(4);
    const report = JSON.parse(json.stdout);
    expect(report).toMatchObject({
      dataDir: path.join(t.cwd, "data"),
      host: {
        state: "running",
        pid: host.child.pid,
        version: "0.1.0",
        heartbeatStale: false,
        health: { url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/), error: null },
        readiness: { ready: false, phase: "starting" },
      },
      model: { provider: "openai", name: "llama3.1:8b", endpoint: "http://127.0.0.1:1" },
      dockerReachable: false,
      exitCode: 4,
      chats: [],
    });
    expect(json.stdout).not.toContain("sk-secret-key");

    await host.kill("SIGKILL");
    const after = await status();
    expect(after.code).toBe(2);
    expect(after.stdout).toMatch(
      new RegExp(
        `^Host:     CRASHED: pid ${host.child.pid} started 20\\S+Z, last heartbeat at 20\\S+Z;`,
        "m",
      ),
    );
    expect(JSON.parse((await status(["--json"])).stdout).host).toMatchObject({
      state: "crashed",
      pid: host.child.pid,
      stoppedAt: null,
    });
  });

  it("stopped cleanly: a host that ended (here: no engine) is stopped, not crashed; exit 2", async () => {
    const failed = await runNestbox(t.cwd, ["start"], {
      env: { ...model, DOCKER_HOST: "tcp://127.0.0.1:1" },
    });
    expect(failed.code).toBe(1);
    const r = await status();
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/^Host: {5}stopped \(cleanly, at 20\S+Z\)$/m);
    expect(JSON.parse((await status(["--json"])).stdout).host.state).toBe("stopped");
  });

  it("a data folder that does not exist is an error naming it (exit 1), not 'not started yet'", async () => {
    const r = await runNestbox(t.cwd, ["status"], { env: { NESTBOX_DATA_DIR: "./dtaa" } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `error: there is no data folder at ${path.join(t.cwd, "dtaa")}: set NESTBOX_DATA_DIR`,
    );
    expect(r.stdout).toBe("");
    const j = await runNestbox(t.cwd, ["status", "--json"], { env: { NESTBOX_DATA_DIR: "./dtaa" } });
    expect(j.code).toBe(1);
    expect(JSON.parse(j.stdout)).toMatchObject({ ok: false, code: "DATA_DIR_MISSING" });
  });

  it("--help lists the exit codes and runs nothing", async () => {
    const r = await runNestbox(t.cwd, ["status", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Exit codes: 0 running and ready; 1 error");
    expect(r.stdout).toContain("3 running but not ready");
    expect(r.stdout).toContain("4 running but the Docker engine does not answer");
  });
});
