import { describe, expect, it } from "vitest";
import { ContainerError } from "../../errors.js";
import type { ContainerSpec } from "../container-runtime.js";
import type { ServiceSpec, SwarmEngine, SwarmState, TaskView } from "./engine.js";
import { SwarmRuntime } from "./swarm-runtime.js";

/** An engine with one node: services get one task each, in the state `taskState` gives. */
function engine(state: SwarmState, taskState: (spec: ServiceSpec) => TaskView["Status"]) {
  const services = new Map<string, ServiceSpec>();
  const tasks = new Map<string, TaskView>();
  const e = {
    services,
    version: async () => "20.10.24",
    swarmState: async () => state,
    createService: async (spec: ServiceSpec) => {
      const id = `svc-${services.size + 1}`;
      services.set(id, spec);
      tasks.set(id, {
        ID: `${id}-t`,
        ServiceID: id,
        NodeID: "node-1",
        CreatedAt: new Date().toISOString(),
        DesiredState: "running",
        Status: taskState(spec),
      });
      return id;
    },
    inspectService: async (id: string) => {
      const spec = services.get(id);
      return spec ? { ID: id, Version: { Index: 1 }, Spec: spec } : null;
    },
    updateService: async (id: string, _version: number, spec: ServiceSpec) => {
      services.set(id, spec);
    },
    removeService: async (id: string) => {
      services.delete(id);
      tasks.delete(id);
    },
    listServices: async (f: { id?: string[] }) =>
      (f.id ?? []).flatMap((id) => (services.has(id) ? [{ ID: id }] : [])),
    listTasks: async (f: { service?: string[]; id?: string[] }) => {
      if (f.id) return [...tasks.values()].filter((t) => f.id?.includes(t.ID));
      for (const id of f.service ?? [])
        if (!services.has(id)) throw new ContainerError("DOCKER_404", `service ${id} not found`);
      return (f.service ?? []).flatMap((id) => [tasks.get(id)].filter((t): t is TaskView => t !== undefined));
    },
    kill: async () => {},
    remove: async () => {},
  };
  return e;
}

const spec: ContainerSpec = { name: "agent-1", image: "nestbox-agent:test", labels: {}, env: {}, mounts: [] };
const manager = { localNodeState: "active", nodeId: "node-1", manager: true };
const running = () => ({ State: "running", ContainerStatus: { ContainerID: "c1" } });
const runtime = (e: unknown) =>
  new SwarmRuntime({ engine: e as SwarmEngine, pollMs: 1, startTimeoutMs: 200 });

describe("SwarmRuntime", () => {
  it("says how to make the engine a swarm manager when it is not one", async () => {
    for (const state of [
      { localNodeState: "inactive", nodeId: "", manager: false },
      { localNodeState: "active", nodeId: "n", manager: false },
    ]) {
      const rt = runtime(engine(state, running));
      await expect(rt.version()).rejects.toMatchObject({
        code: "SWARM_INACTIVE",
        message: expect.stringContaining("docker swarm init"),
      });
    }
    expect(await runtime(engine(manager, running)).version()).toBe("20.10.24");
  });

  it("dials instead of attaching", async () => {
    const rt = runtime(engine(manager, running));
    expect(rt.transport).toBe("dial");
    await expect(rt.attach("svc-1")).rejects.toMatchObject({ code: "ATTACH_UNSUPPORTED" });
  });

  it("fails create, and removes the service, when the node rejects its task or it never runs", async () => {
    const rejected = engine(manager, () => ({ State: "rejected", Err: "No such image: nestbox-agent:test" }));
    await expect(runtime(rejected).create(spec)).rejects.toMatchObject({
      code: "SWARM_TASK_REJECTED",
      message: expect.stringMatching(
        /cannot create container agent-1 from nestbox-agent:test: No such image/,
      ),
    });
    expect(rejected.services.size).toBe(0);
    const pending = engine(manager, () => ({ State: "pending" }));
    await expect(runtime(pending).create(spec)).rejects.toMatchObject({ code: "SWARM_START_TIMEOUT" });
    expect(pending.services.size).toBe(0);
  });

  it("stops a task on another node by scaling its service to zero", async () => {
    const e = engine({ ...manager, nodeId: "manager-node" }, running);
    const rt = runtime(e);
    const id = await rt.create(spec);
    await rt.kill(id);
    expect(e.services.get(id)?.Mode).toEqual({ Replicated: { Replicas: 0 } });
  });
});
