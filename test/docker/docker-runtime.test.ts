import { DockerRuntime } from "../../src/containers/docker-runtime.js";
import { runtimeConformance } from "../contracts/runtime-conformance.js";
import { conformanceLeftovers } from "./leftovers.js";
import { startOutsideHost } from "./outside-host.js";
import { BASE_IMAGE, describeDocker } from "./support.js";

describeDocker("ContainerRuntime conformance: DockerRuntime", () => {
  runtimeConformance(() => new DockerRuntime(), BASE_IMAGE, {
    leftovers: conformanceLeftovers,
    outsideHost: startOutsideHost,
  });
});
