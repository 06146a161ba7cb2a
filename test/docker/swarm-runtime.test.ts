import { DockerRuntime } from "../../src/containers/docker-runtime.js";
import { SwarmRuntime } from "../../src/containers/swarm/swarm-runtime.js";
import { runtimeConformance } from "../contracts/runtime-conformance.js";
import { conformanceLeftovers } from "./leftovers.js";
import { startOutsideHost } from "./outside-host.js";
import { BASE_IMAGE, describeDocker } from "./support.js";
import { withSwarm } from "./swarm.js";

describeDocker("ContainerRuntime conformance: SwarmRuntime (services on the local swarm)", () => {
  withSwarm();
  // The local driver named explicitly: volume mounts then carry it, as they must for other nodes.
  const make = () =>
    new SwarmRuntime({
      engine: new DockerRuntime(),
      volumeDriver: { name: "local", options: {} },
      pollMs: 200,
    });
  runtimeConformance(make, BASE_IMAGE, {
    leftovers: conformanceLeftovers,
    outsideHost: startOutsideHost,
  });
});
