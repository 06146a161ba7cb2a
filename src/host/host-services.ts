import type { ChannelRegistry } from "../channels/registry.js";
import { nestboxVersion } from "../cli/project.js";
import type { Config, ModelConfig } from "../config.js";
import type { ContainerRuntime } from "../containers/container-runtime.js";
import type { Logger } from "../log.js";
import { agentFor, type SandboxEnvironment } from "../sandbox/index.js";
import { Store } from "../store/index.js";
import { type HealthServer, startHealthServer } from "./health-server.js";
import { Heartbeat } from "./heartbeat.js";
import { InstanceLock } from "./instance-lock.js";
import { ModelReach } from "./model-reach.js";
import { readinessOf } from "./readiness.js";

/** What a running host holds for its data folder: the lock, the heartbeat and the health endpoint. */
export interface HostServices {
  readonly lock: InstanceLock;
  /** null when NESTBOX_HEALTH=off. */
  readonly health: HealthServer | null;
  /** Points `/readyz` at the built host's store, engine, channels and model. */
  attach(host: {
    store: Store;
    registry: ChannelRegistry;
    docker: ContainerRuntime;
    model: ModelConfig;
  }): void;
  /** From now on `/readyz` says "stopping" (503). */
  stopping(): void;
  /** Closes the endpoint, records the clean stop and releases the lock; idempotent. */
  close(): Promise<void>;
}

/**
 * Takes the data folder for this process before anything else happens (no Docker, no channel): the
 * single-instance lock (HostRunningError when another host holds it), the lifecycle marks and the
 * health endpoint (HealthEndpointError when its port is taken).
 */
export async function startHostServices(o: {
  config: Config;
  sandbox: SandboxEnvironment;
  log: Logger;
  now?: () => number;
}): Promise<HostServices> {
  const now = o.now ?? Date.now;
  const version = nestboxVersion();
  const startedAt = now();
  const lock = InstanceLock.acquire(o.config.dataDir, { pid: process.pid, startedAt, version });
  // Its own connection: the clean-stop mark is written after the host's store has closed.
  let life: Store | null = null;
  let heartbeat: Heartbeat | null = null;
  let health: HealthServer | null = null;
  try {
    life = Store.open(o.config.dataDir);
    heartbeat = new Heartbeat({ meta: life.meta, log: o.log, now });
    heartbeat.start();
    if (o.config.health) {
      health = await startHealthServer({ ...o.config.health, version, startedAt, now });
      lock.setHealth(health.host, health.port);
      o.log.info({ host: health.host, port: health.port }, "health endpoint listening");
    }
  } catch (err) {
    heartbeat?.stop();
    life?.close();
    lock.release();
    throw err;
  }
  let stopping = false;
  let closing: Promise<void> | null = null;
  return {
    lock,
    health,
    attach({ store, registry, docker, model }) {
      const reach = new ModelReach({
        baseUrl: model.baseUrl,
        agent: agentFor(new URL(model.baseUrl), o.sandbox.proxy),
        timeoutMs: 2500,
      });
      // Asked once now, so the first /readyz answers from the cache instead of waiting for the model host.
      void reach.check();
      health?.setReadiness(
        readinessOf({
          store: () => store.ping(),
          docker: () => docker.version(),
          channels: () => registry.states(),
          model: () => reach.check(),
          stopping: () => stopping,
        }),
      );
    },
    stopping() {
      stopping = true;
    },
    close() {
      closing ??= (async () => {
        stopping = true;
        await health?.close();
        heartbeat?.stop();
        life?.close();
        lock.release();
      })();
      return closing;
    },
  };
}
