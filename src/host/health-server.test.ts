import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, expect, it } from "vitest";
import type { ChannelState } from "../channels/channel.js";
import { HealthEndpointError } from "../errors.js";
import { type HealthServer, startHealthServer } from "./health-server.js";
import { ModelReach } from "./model-reach.js";
import { readinessOf } from "./readiness.js";

const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});

async function serve(): Promise<HealthServer> {
  const s = await startHealthServer({
    host: "127.0.0.1",
    port: 0,
    version: "1.2.3",
    startedAt: Date.now() - 5000,
  });
  open.push(s);
  return s;
}

const get = async (s: HealthServer, route: string) => {
  const res = await fetch(`http://127.0.0.1:${s.port}${route}`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

it("/healthz says alive with pid, uptime and version; /readyz is 503 while the host is starting", async () => {
  const s = await serve();
  expect(await get(s, "/healthz")).toEqual({
    status: 200,
    body: { status: "alive", pid: process.pid, uptimeS: 5, version: "1.2.3" },
  });
  const ready = await get(s, "/readyz");
  expect(ready.status).toBe(503);
  expect(ready.body).toMatchObject({ ready: false, phase: "starting" });
  expect((await get(s, "/nope")).status).toBe(404);
});

it("/readyz is 200 when every check passes and 503 naming the channel that is down", async () => {
  const s = await serve();
  const channels: Record<string, ChannelState> = { telegram: "connected", terminal: "connected" };
  s.setReadiness(
    readinessOf({
      store: () => {},
      docker: async () => "28.0",
      channels: () => ({ ...channels }),
      model: async () => "reachable",
    }),
  );
  expect(await get(s, "/readyz")).toEqual({
    status: 200,
    body: {
      ready: true,
      phase: "running",
      checks: { store: "ok", docker: "ok", channels, model: "reachable" },
    },
  });
  channels.telegram = "down: polling fails (network error), retrying";
  const down = await get(s, "/readyz");
  expect(down.status).toBe(503);
  expect(down.body).toMatchObject({
    ready: false,
    checks: {
      channels: { telegram: "down: polling fails (network error), retrying", terminal: "connected" },
    },
  });
});

it("/readyz is 503 when the store, Docker or the model fails, each with its reason", async () => {
  const s = await serve();
  s.setReadiness(
    readinessOf({
      store: () => {
        throw new Error("The database connection is not open");
      },
      docker: () => new Promise(() => {}),
      dockerTimeoutMs: 50,
      channels: () => ({}),
      model: async () => "unreachable: http://127.0.0.1:1 (ECONNREFUSED)",
    }),
  );
  const r = await get(s, "/readyz");
  expect(r.status).toBe(503);
  expect(r.body.checks).toEqual({
    store: "down: The database connection is not open",
    docker: "unreachable: no answer in time",
    channels: {},
    model: "unreachable: http://127.0.0.1:1 (ECONNREFUSED)",
  });
});

it("a port in use is an error naming NESTBOX_HEALTH_PORT, not a crash", async () => {
  const s = await serve();
  const second = startHealthServer({ host: "127.0.0.1", port: s.port, version: "x", startedAt: 0 });
  await expect(second).rejects.toBeInstanceOf(HealthEndpointError);
  await expect(second).rejects.toThrow(
    `the health endpoint cannot listen on 127.0.0.1:${s.port}: the port is in use (another nestbox on this machine?); set NESTBOX_HEALTH_PORT to a free port (0 picks any), or NESTBOX_HEALTH=off`,
  );
});

it("the model check asks the origin once per 30 s, counts any HTTP answer as reachable, and sends no key", async () => {
  const seen: { method?: string; url?: string; auth?: string }[] = [];
  const upstream = createServer((req, res) => {
    seen.push({ method: req.method, url: req.url, auth: req.headers.authorization });
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
  open.push({ close: () => new Promise((r) => upstream.close(r)) });
  const port = (upstream.address() as AddressInfo).port;
  let t = 0;
  const reach = new ModelReach({ baseUrl: `http://127.0.0.1:${port}/v1`, now: () => t });
  expect(await reach.check()).toBe("reachable");
  t = 29_000;
  expect(await reach.check()).toBe("reachable");
  expect(seen).toEqual([{ method: "HEAD", url: "/", auth: undefined }]);
  t = 31_000;
  await reach.check();
  expect(seen).toHaveLength(2);

  const down = new ModelReach({ baseUrl: "http://127.0.0.1:1/v1" });
  expect(await down.check()).toBe("unreachable: http://127.0.0.1:1 (ECONNREFUSED)");
});
