import { describe, expect, it } from "vitest";
import { ContainerError } from "../../errors.js";
import type { ContainerSpec } from "../container-runtime.js";
import type { ServiceView, TaskView } from "./engine.js";
import { containerInfo, exitCodeOf, newestTasks, serviceSpec } from "./service-spec.js";

const spec: ContainerSpec = {
  name: "nestbox-abc-family-x1",
  image: "nestbox-agent:test",
  labels: { "nestbox.install": "abc", "nestbox.folder": "family" },
  env: { TZ: "UTC", NESTBOX_DIAL_ADDRESS: "10.0.0.1:7000" },
  cmd: ["node", "runner.js"],
  entrypoint: ["/init"],
  user: "1000:1000",
  workingDir: "/workspace/group",
  mounts: [{ hostPath: "/srv/skills", containerPath: "/workspace/skills", readOnly: true }],
  volumes: [{ volume: "nestbox-abc-family", containerPath: "/workspace/group", readOnly: false }],
  tmpfs: { "/tmp": "rw,nosuid,nodev,size=256m" },
  readOnlyRootfs: true,
  capDrop: ["ALL"],
  securityOpt: ["no-new-privileges"],
  init: true,
  memoryBytes: 512 * 1024 * 1024,
  nanoCpus: 1e9,
  pidsLimit: 256,
  extraHosts: ["nestbox-host:10.213.7.1"],
  network: "nestbox-abc",
};

const task = (over: Partial<TaskView> & { state: string; exit?: number; at?: string }): TaskView => ({
  ID: over.ID ?? "t1",
  ServiceID: over.ServiceID ?? "s1",
  CreatedAt: over.at ?? "2026-12-01T10:00:00Z",
  DesiredState: "running",
  Status: { State: over.state, ContainerStatus: { ContainerID: "c1", ExitCode: over.exit ?? 0 } },
});

describe("serviceSpec", () => {
  const shape = {
    placement: ["node.labels.agents==yes"],
    volumeDriver: { name: "nfs", options: { share: "srv:/chats" } },
    stopGraceSeconds: 7,
  };

  it("maps every field of a container spec onto a one-replica service that never restarts", () => {
    const s = serviceSpec(spec, shape);
    expect(s.Name).toBe(spec.name);
    expect(s.Labels).toEqual(spec.labels);
    expect(s.Mode).toEqual({ Replicated: { Replicas: 1 } });
    expect(s.TaskTemplate.RestartPolicy).toEqual({ Condition: "none", MaxAttempts: 0 });
    expect(s.TaskTemplate.Placement).toEqual({ Constraints: ["node.labels.agents==yes"] });
    expect(s.TaskTemplate.Networks).toEqual([{ Target: "nestbox-abc" }]);
    expect(s.TaskTemplate.Resources).toEqual({
      Limits: { MemoryBytes: 512 * 1024 * 1024, NanoCPUs: 1e9, Pids: 256 },
    });
    expect(s.TaskTemplate.ContainerSpec).toEqual({
      Image: "nestbox-agent:test",
      Labels: spec.labels,
      Command: ["/init"],
      Args: ["node", "runner.js"],
      Env: ["TZ=UTC", "NESTBOX_DIAL_ADDRESS=10.0.0.1:7000"],
      User: "1000:1000",
      Dir: "/workspace/group",
      Init: true,
      ReadOnly: true,
      CapabilityDrop: ["ALL"],
      Hosts: ["10.213.7.1 nestbox-host"],
      StopGracePeriod: 7e9,
      Mounts: [
        { Type: "bind", Source: "/srv/skills", Target: "/workspace/skills", ReadOnly: true },
        {
          Type: "volume",
          Source: "nestbox-abc-family",
          Target: "/workspace/group",
          ReadOnly: false,
          VolumeOptions: { DriverConfig: { Name: "nfs", Options: { share: "srv:/chats" } } },
        },
        { Type: "tmpfs", Target: "/tmp", TmpfsOptions: { SizeBytes: 256 * 1024 * 1024 } },
      ],
    });
  });

  it("leaves out what the spec leaves out, and names a bad tmpfs size or extra host", () => {
    const bare = serviceSpec(
      {
        name: "n",
        image: "i",
        labels: {},
        env: {},
        mounts: [],
        volumes: [{ volume: "v", containerPath: "/v", readOnly: true }],
      },
      { placement: [], stopGraceSeconds: 10 },
    );
    expect(bare.TaskTemplate.Networks).toBeUndefined();
    expect(bare.TaskTemplate.ContainerSpec.Hosts).toBeUndefined();
    expect(bare.TaskTemplate.ContainerSpec.Mounts).toEqual([
      { Type: "volume", Source: "v", Target: "/v", ReadOnly: true },
    ]);
    expect(() => serviceSpec({ ...spec, tmpfs: { "/tmp": "size=lots" } }, shape)).toThrow(ContainerError);
    expect(() => serviceSpec({ ...spec, extraHosts: ["no-address"] }, shape)).toThrow(/name:address/);
  });
});

describe("tasks", () => {
  it("picks each service's newest task", () => {
    const newest = newestTasks([
      task({ ID: "old", state: "failed", at: "2026-12-01T10:00:00Z" }),
      task({ ID: "new", state: "running", at: "2026-12-01T10:00:05Z" }),
      task({ ID: "other", ServiceID: "s2", state: "complete" }),
    ]);
    expect([newest.get("s1")?.ID, newest.get("s2")?.ID]).toEqual(["new", "other"]);
  });

  it("reads the exit code of an ended task; -1 for one that never ran", () => {
    expect(exitCodeOf(task({ state: "failed", exit: 3 }))).toBe(3);
    expect(exitCodeOf(task({ state: "rejected", exit: 0 }))).toBe(-1);
    expect(exitCodeOf(task({ state: "shutdown", exit: -1 }))).toBe(-1);
  });

  it("reports a service and its task as a container", () => {
    const service: ServiceView = {
      ID: "s1",
      Version: { Index: 3 },
      Spec: serviceSpec(spec, { placement: [], stopGraceSeconds: 5 }),
    };
    const running = containerInfo(service, task({ state: "running" }));
    expect(running).toMatchObject({
      id: "s1",
      name: spec.name,
      running: true,
      exitCode: null,
      user: "1000:1000",
    });
    expect(running.cmd).toEqual(["/init", "node", "runner.js"]);
    expect(running.env).toContain("TZ=UTC");
    expect(running.mounts).toEqual([
      { source: "/srv/skills", destination: "/workspace/skills", readOnly: true },
      { source: "nestbox-abc-family", destination: "/workspace/group", readOnly: false },
    ]);
    expect(containerInfo(service, task({ state: "failed", exit: 137 }))).toMatchObject({
      running: false,
      exitCode: 137,
    });
    expect(containerInfo(service, undefined)).toMatchObject({
      running: false,
      status: "stopped",
      exitCode: null,
    });
  });
});
