import type { ChannelState } from "../channels/channel.js";

/** A model endpoint as `/readyz` reports it. */
export type ModelState = "reachable" | `unreachable: ${string}` | "starting";

/** What `/readyz` answers (200 when `ready`, else 503). */
export interface Readiness {
  ready: boolean;
  /** `starting` until the host is built (image, probe, channels), `stopping` once it is asked to stop. */
  phase: "starting" | "running" | "stopping";
  checks: {
    store: "ok" | "starting" | `down: ${string}`;
    docker: "ok" | "starting" | `unreachable: ${string}`;
    channels: Record<string, ChannelState>;
    model: ModelState;
  };
}

/** What the readiness checks ask; each is cheap, and the slow ones are cached by their owners. */
export interface ReadinessSources {
  /** Throws when the store cannot answer a query. */
  store: () => void;
  /** Resolves when the Docker engine answers. */
  docker: () => Promise<unknown>;
  channels: () => Record<string, ChannelState>;
  model: () => Promise<ModelState>;
  /** Whether the host is stopping (then it is not ready, whatever the checks say). */
  stopping?: () => boolean;
  /** How long the Docker check may take (default 3 s). */
  dockerTimeoutMs?: number;
}

const reason = (err: unknown) => (err instanceof Error ? err.message : String(err)).split("\n")[0] ?? "";

/** Runs every check; ready only when the store and Docker answer, every channel is connected and the model is reachable. */
export function readinessOf(s: ReadinessSources): () => Promise<Readiness> {
  return async () => {
    let store: Readiness["checks"]["store"] = "ok";
    try {
      s.store();
    } catch (err) {
      store = `down: ${reason(err)}`;
    }
    const [docker, model] = await Promise.all([dockerCheck(s), s.model()]);
    const channels = s.channels();
    const stopping = s.stopping?.() === true;
    const ready =
      !stopping &&
      store === "ok" &&
      docker === "ok" &&
      model === "reachable" &&
      Object.values(channels).every((c) => c === "connected");
    return { ready, phase: stopping ? "stopping" : "running", checks: { store, docker, channels, model } };
  };
}

async function dockerCheck(s: ReadinessSources): Promise<Readiness["checks"]["docker"]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("no answer in time")), s.dockerTimeoutMs ?? 3000);
  });
  try {
    await Promise.race([s.docker(), timeout]);
    return "ok";
  } catch (err) {
    return `unreachable: ${reason(err)}`;
  } finally {
    clearTimeout(timer);
  }
}
