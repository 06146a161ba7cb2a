import type { Config } from "../config.js";
import type { ContainerRuntime } from "./container-runtime.js";
import type { DockerRuntime } from "./docker-runtime.js";
import { SwarmRuntime } from "./swarm/swarm-runtime.js";

/**
 * The runtime agents run on (AGENT_RUNTIME): the local engine itself, or services on the swarm that
 * engine manages (images, builds and probes still go to the engine).
 */
export function createAgentRuntime(config: Config, engine: DockerRuntime): ContainerRuntime {
  const runtime = config.cluster.runtime;
  if (runtime.kind === "local") return engine;
  return new SwarmRuntime({ engine, placement: runtime.placement, volumeDriver: runtime.volumeDriver });
}
