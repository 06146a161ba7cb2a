import { afterAll, beforeAll, describe } from "vitest";
import {
  agentTransportConformance,
  type TransportWorld,
} from "../../../test/contracts/agent-transport-conformance.js";
import { conformanceAgent } from "../../../test/doubles/conformance-agent.js";
import { runnerDialing } from "../../../test/doubles/dial-runner.js";
import { type PipeContainer, PipeRuntime, runnerInPipes } from "../../../test/doubles/pipe-runtime.js";
import { silentLogger } from "../../log.js";
import type { AgentContainer } from "../agent-container.js";
import { AttachTransport } from "./attach.js";
import { DialTransport } from "./dial/dial-transport.js";
import { DialServer } from "./dial/server.js";

let n = 0;
const spec = () => ({ name: `nestbox-conf-${++n}`, image: "none", labels: {}, env: {}, mounts: [] });

/** The runner process dies: the container exits 1 (its connection, if any, goes with it). */
function crashIn(runtime: PipeRuntime) {
  return async (agent: AgentContainer) => {
    (runtime.containers.find((c) => c.id === agent.id) as PipeContainer).exit(1);
  };
}

describe("transport conformance: attach (PipeRuntime, the runner's ServeLoop on the pipes)", () => {
  const runtime = new PipeRuntime(runnerInPipes(conformanceAgent));
  const world: TransportWorld = {
    runtime,
    transport: new AttachTransport(runtime),
    spec,
    crash: crashIn(runtime),
    readyTimeoutMs: 5000,
  };
  agentTransportConformance(() => world);
});

describe("transport conformance: dial (the runner's dial client and ServeLoop in-process, the real DialServer)", () => {
  const runtime = new PipeRuntime(runnerDialing(conformanceAgent));
  const server = new DialServer({
    host: "127.0.0.1",
    port: 0,
    advertise: { host: "127.0.0.1" },
    log: silentLogger(),
  });
  let world: TransportWorld;
  beforeAll(async () => {
    await server.listen();
    world = {
      runtime,
      transport: new DialTransport(server),
      spec,
      crash: crashIn(runtime),
      readyTimeoutMs: 5000,
    };
  });
  afterAll(() => server.close());
  agentTransportConformance(() => world);
});
