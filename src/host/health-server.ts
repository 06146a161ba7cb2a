import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { HealthEndpointError } from "../errors.js";
import type { Readiness } from "./readiness.js";

/** Options for {@link startHealthServer}. */
export interface HealthServerOptions {
  host: string;
  /** 0: any free port (the one taken is on the result, and in the lock's record for `status`). */
  port: number;
  version: string;
  startedAt: number;
  /** The readiness checks; until the host is built, `/readyz` answers "starting" (503). */
  readiness?: () => Promise<Readiness>;
  now?: () => number;
}

/** A listening health endpoint. */
export interface HealthServer {
  host: string;
  port: number;
  /** Switches `/readyz` to the host's real checks once they exist. */
  setReadiness(readiness: () => Promise<Readiness>): void;
  close(): Promise<void>;
}

/** What `/healthz` answers: the process is alive. */
export interface Liveness {
  status: "alive";
  pid: number;
  uptimeS: number;
  version: string;
}

const starting = async (): Promise<Readiness> => ({
  ready: false,
  phase: "starting",
  checks: { store: "starting", docker: "starting", channels: {}, model: "starting" },
});

/**
 * A local HTTP server (loopback by default): `GET /healthz` -> 200 {@link Liveness}; `GET /readyz` ->
 * 200 or 503 {@link Readiness}. Anything else is 404; nothing is ever written through it.
 */
export async function startHealthServer(o: HealthServerOptions): Promise<HealthServer> {
  const now = o.now ?? Date.now;
  let readiness = o.readiness ?? starting;
  const server: Server = createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
      res.end(`${JSON.stringify(body)}\n`);
    };
    const route = (req.url ?? "").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") return send(405, { error: "only GET" });
    if (route === "/healthz") {
      const live: Liveness = {
        status: "alive",
        pid: process.pid,
        uptimeS: Math.max(0, Math.round((now() - o.startedAt) / 1000)),
        version: o.version,
      };
      return send(200, live);
    }
    if (route === "/readyz") {
      readiness().then(
        (r) => send(r.ready ? 200 : 503, r),
        (err: unknown) => send(503, { ready: false, error: (err as Error).message }),
      );
      return;
    }
    send(404, { error: "not found: use /healthz or /readyz" });
  });
  // A probe must never hold the host up at shutdown.
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) => reject(listenError(err, o)));
    server.listen(o.port, o.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    host: o.host,
    port: address.port,
    setReadiness: (r) => {
      readiness = r;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function listenError(err: NodeJS.ErrnoException, o: HealthServerOptions): HealthEndpointError {
  const where = `${o.host}:${o.port}`;
  const fix = "set NESTBOX_HEALTH_PORT to a free port (0 picks any), or NESTBOX_HEALTH=off";
  if (err.code === "EADDRINUSE") {
    return new HealthEndpointError(
      "HEALTH_PORT_IN_USE",
      `the health endpoint cannot listen on ${where}: the port is in use (another nestbox on this machine?); ${fix}`,
      { cause: err },
    );
  }
  if (err.code === "EADDRNOTAVAIL") {
    return new HealthEndpointError(
      "HEALTH_ADDRESS",
      `the health endpoint cannot listen on ${where}: no such address on this machine; set NESTBOX_HEALTH_HOST (127.0.0.1 by default)`,
      { cause: err },
    );
  }
  return new HealthEndpointError(
    "HEALTH_LISTEN",
    `the health endpoint cannot listen on ${where} (${err.code ?? err.message}); ${fix}`,
    { cause: err },
  );
}
