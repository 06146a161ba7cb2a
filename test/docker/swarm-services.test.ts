import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, expect, it } from "vitest";
import type { ContainerSpec } from "../../src/containers/container-runtime.js";
import { DockerRuntime } from "../../src/containers/docker-runtime.js";
import type { SwarmEngine } from "../../src/containers/swarm/engine.js";
import { SwarmRuntime } from "../../src/containers/swarm/swarm-runtime.js";
import { conformanceLeftovers } from "./leftovers.js";
import { BASE_IMAGE, describeDocker } from "./support.js";
import { withSwarm } from "./swarm.js";

const exec = promisify(execFile);
const docker = async (...args: string[]) => (await exec("docker", args)).stdout.trim();

/** The real engine, with some of its answers replaced (methods bound: it keeps private state). */
function engineWith(overrides: Partial<SwarmEngine>): SwarmEngine {
  const real = new DockerRuntime();
  return new Proxy(real, {
    get(target, key) {
      if (key in overrides) return overrides[key as keyof SwarmEngine];
      const value = Reflect.get(target, key);
      return typeof value === "function" ? value.bind(target) : value;
    },
  }) as SwarmEngine;
}

describeDocker("SwarmRuntime: what services add to the conformance suite", () => {
  withSwarm();
  const run = `${process.pid}-${Date.now().toString(36)}`;
  const labels = { "nestbox.conformance": run };
  const spec = (name: string, over: Partial<ContainerSpec> = {}): ContainerSpec => ({
    name: `conformance-${run}-${name}`,
    image: BASE_IMAGE,
    labels,
    env: {},
    mounts: [],
    init: true,
    ...over,
  });
  const rt = new SwarmRuntime({
    engine: new DockerRuntime(),
    volumeDriver: { name: "local", options: {} },
    pollMs: 200,
  });

  afterAll(async () => {
    for (const c of await rt.list(labels)) await rt.remove(c.id);
    for (const v of await rt.listVolumes(labels)) await rt.removeVolume(v.name);
    // The "once" service's mount created this one (no labels): it goes with the run too.
    await rt.removeVolume(`conformance-${run}-vol`);
    expect(await conformanceLeftovers(run)).toEqual([]);
  });

  it("labels the service and its container, carries the volume driver, and never restarts an ended task", async () => {
    const id = await rt.create(
      spec("once", {
        cmd: ["sh", "-c", "exit 5"],
        volumes: [{ volume: `conformance-${run}-vol`, containerPath: "/v", readOnly: false }],
      }),
    );
    expect(await rt.wait(id)).toBe(5);
    const service = JSON.parse(await docker("service", "inspect", id));
    expect(service[0].Spec.Labels).toMatchObject(labels);
    expect(service[0].Spec.TaskTemplate.RestartPolicy.Condition).toBe("none");
    expect(service[0].Spec.TaskTemplate.ContainerSpec.Mounts[0].VolumeOptions.DriverConfig.Name).toBe(
      "local",
    );
    const containers = await docker(
      "ps",
      "-a",
      "--filter",
      `label=com.docker.swarm.service.id=${id}`,
      "--format",
      '{{.Label "nestbox.conformance"}}',
    );
    expect(containers).toBe(run);
    // Restart policy none: no second task, however long we wait.
    await new Promise((r) => setTimeout(r, 3000));
    expect((await docker("service", "ps", "-q", id)).split("\n")).toHaveLength(1);
    expect(await rt.inspect(id)).toMatchObject({ running: false, exitCode: 5 });
    await rt.remove(id);
  });

  it("waits on many services with one task list call per tick", async () => {
    let calls = 0;
    const real = new DockerRuntime();
    const counted = new SwarmRuntime({
      engine: engineWith({
        listTasks: (f) => {
          if (f.service) calls++;
          return real.listTasks(f);
        },
      }),
      pollMs: 200,
    });
    const ids = await Promise.all(
      ["w1", "w2", "w3", "w4"].map((n) => counted.create(spec(n, { cmd: ["sleep", "3"] }))),
    );
    calls = 0;
    const started = Date.now();
    expect(await Promise.all(ids.map((id) => counted.wait(id)))).toEqual([0, 0, 0, 0]);
    const ticks = (Date.now() - started) / 200;
    // Four waiters, one poller: about one call per tick, not four.
    expect(calls).toBeLessThanOrEqual(ticks + 2);
    for (const id of ids) await counted.remove(id);
  });

  it("stops and kills a task on another node through Swarm itself (scaled to zero), and removes it", async () => {
    const elsewhere = new SwarmRuntime({
      engine: engineWith({
        swarmState: async () => ({ localNodeState: "active", nodeId: "another-node", manager: true }),
      }),
      pollMs: 200,
      stopGraceSeconds: 1,
    });
    const a = await elsewhere.create(spec("remote-kill", { cmd: ["sleep", "300"] }));
    expect(await elsewhere.containerAddress(a, "bridge")).toBeNull();
    const exited = elsewhere.wait(a);
    await elsewhere.kill(a);
    expect(await exited).not.toBe(0);
    expect((await elsewhere.inspect(a))?.running).toBe(false);
    const b = await elsewhere.create(spec("remote-stop", { cmd: ["sleep", "300"] }));
    await elsewhere.stop(b, 1);
    expect((await elsewhere.inspect(b))?.running).toBe(false);
    await elsewhere.remove(a);
    await elsewhere.remove(b);
    expect(await elsewhere.inspect(a)).toBeNull();
  });

  it("gives up on a task no node can take (placement), and leaves no service behind", async () => {
    const placed = new SwarmRuntime({
      engine: new DockerRuntime(),
      placement: [`node.labels.nestbox-${run}==never`],
      startTimeoutMs: 3000,
      pollMs: 200,
    });
    await expect(placed.create(spec("unplaceable", { cmd: ["true"] }))).rejects.toMatchObject({
      code: "SWARM_START_TIMEOUT",
      message: expect.stringMatching(/task pending: .*constraints/),
    });
    expect(await rt.list(labels)).toEqual([]);
  });
});
