import { ContainerError } from "../../errors.js";
import type { ContainerInfo, ContainerSpec } from "../container-runtime.js";
import type { ServiceMount, ServiceSpec, ServiceView, TaskView } from "./engine.js";

/** How the swarm runtime shapes every service (from its constructor options). */
export interface ServiceShape {
  /** Placement constraints (`node.labels.agents==yes`), on every service. */
  placement: string[];
  /** The driver named volumes are created with, on every node a task lands on. */
  volumeDriver?: { name: string; options: Record<string, string> };
  /** What a stop allows the process before the kill, where the engine stops it (seconds). */
  stopGraceSeconds: number;
}

/** Task states after which a task never runs again. */
const TERMINAL = new Set(["complete", "failed", "shutdown", "rejected", "orphaned", "remove"]);

/** The task has ended (or will never start). */
export const isTerminal = (task: TaskView): boolean => TERMINAL.has(task.Status.State);

/** The task's exit code once it ended; -1 when it never ran (rejected) or the engine gave none. */
export function exitCodeOf(task: TaskView): number {
  const code = task.Status.ContainerStatus?.ExitCode;
  return task.Status.State === "rejected" || code === undefined || code < 0 ? -1 : code;
}

/** The newest task of each service. */
export function newestTasks(tasks: TaskView[]): Map<string, TaskView> {
  const newest = new Map<string, TaskView>();
  for (const t of tasks) {
    const seen = newest.get(t.ServiceID);
    if (!seen || Date.parse(t.CreatedAt) > Date.parse(seen.CreatedAt)) newest.set(t.ServiceID, t);
  }
  return newest;
}

/** `size=16m` and `mode=1777` from a tmpfs option string (the API has no field for the other flags). */
function tmpfsOptions(options: string): ServiceMount["TmpfsOptions"] {
  const out: NonNullable<ServiceMount["TmpfsOptions"]> = {};
  for (const part of options.split(",")) {
    const [key, value = ""] = part.split("=");
    if (key === "size") {
      const m = /^(\d+)([kmg]?)$/i.exec(value);
      if (!m) throw new ContainerError("SWARM_SPEC_INVALID", `tmpfs size ${value} is not a size (e.g. 64m)`);
      const unit = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(m[2] ?? "").toLowerCase()] ?? 1;
      out.SizeBytes = Number(m[1]) * unit;
    } else if (key === "mode") {
      out.Mode = Number.parseInt(value, 8);
    }
  }
  return out;
}

/** Docker's `name:IP` extra host as Swarm's `IP name`. */
function hostEntry(entry: string): string {
  const at = entry.indexOf(":");
  if (at <= 0) throw new ContainerError("SWARM_SPEC_INVALID", `extra host ${entry} is not name:address`);
  return `${entry.slice(at + 1)} ${entry.slice(0, at)}`;
}

/**
 * A one-replica service that runs `spec` once (restart policy none), labelled on the service and its
 * containers. Swarm's API (1.41) has no security options: `securityOpt` (no-new-privileges) is not
 * carried; capabilities are dropped, the root is read-only and the user non-root as the spec asks.
 */
export function serviceSpec(spec: ContainerSpec, shape: ServiceShape): ServiceSpec {
  const driver = shape.volumeDriver;
  const mounts: ServiceMount[] = [
    ...spec.mounts.map((m) => ({
      Type: "bind" as const,
      Source: m.hostPath,
      Target: m.containerPath,
      ReadOnly: m.readOnly,
    })),
    ...(spec.volumes ?? []).map((v) => ({
      Type: "volume" as const,
      Source: v.volume,
      Target: v.containerPath,
      ReadOnly: v.readOnly,
      // A node that has no such volume yet creates it with the same driver, so all nodes agree.
      ...(driver ? { VolumeOptions: { DriverConfig: { Name: driver.name, Options: driver.options } } } : {}),
    })),
    ...Object.entries(spec.tmpfs ?? {}).map(([target, options]) => ({
      Type: "tmpfs" as const,
      Target: target,
      TmpfsOptions: tmpfsOptions(options),
    })),
  ];
  const limits = {
    ...(spec.memoryBytes ? { MemoryBytes: spec.memoryBytes } : {}),
    ...(spec.nanoCpus ? { NanoCPUs: spec.nanoCpus } : {}),
    ...(spec.pidsLimit ? { Pids: spec.pidsLimit } : {}),
  };
  return {
    Name: spec.name,
    Labels: spec.labels,
    TaskTemplate: {
      ContainerSpec: {
        Image: spec.image,
        Labels: spec.labels,
        ...(spec.entrypoint ? { Command: spec.entrypoint } : {}),
        ...(spec.cmd ? { Args: spec.cmd } : {}),
        Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
        ...(spec.user ? { User: spec.user } : {}),
        ...(spec.workingDir ? { Dir: spec.workingDir } : {}),
        Init: spec.init ?? false,
        ReadOnly: spec.readOnlyRootfs ?? false,
        ...(spec.capDrop ? { CapabilityDrop: spec.capDrop } : {}),
        ...(spec.extraHosts?.length ? { Hosts: spec.extraHosts.map(hostEntry) } : {}),
        Mounts: mounts,
        StopGracePeriod: shape.stopGraceSeconds * 1e9,
      },
      Resources: { Limits: limits },
      RestartPolicy: { Condition: "none", MaxAttempts: 0 },
      Placement: { Constraints: shape.placement },
      ...(spec.network ? { Networks: [{ Target: spec.network }] } : {}),
    },
    Mode: { Replicated: { Replicas: 1 } },
  };
}

/** A service and its newest task as the ContainerInfo a local container would give. */
export function containerInfo(service: ServiceView, task: TaskView | undefined): ContainerInfo {
  const c = service.Spec.TaskTemplate.ContainerSpec;
  const running = task?.Status.State === "running";
  return {
    id: service.ID,
    name: service.Spec.Name,
    image: c.Image,
    labels: service.Spec.Labels ?? {},
    running,
    status: task?.Status.State ?? "stopped",
    exitCode: task && isTerminal(task) ? exitCodeOf(task) : null,
    env: c.Env ?? [],
    cmd: [...(c.Command ?? []), ...(c.Args ?? [])],
    user: c.User ?? "",
    mounts: (c.Mounts ?? [])
      .filter((m) => m.Type !== "tmpfs")
      .map((m) => ({ source: m.Source ?? "", destination: m.Target, readOnly: m.ReadOnly ?? false })),
    oomKilled: false,
  };
}
