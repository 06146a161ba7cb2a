import { ContainerError } from "../../errors.js";
import type {
  AttachedStdio,
  BuildSpec,
  ContainerInfo,
  ContainerRuntime,
  ContainerSpec,
  ImageInfo,
  NetworkInfo,
  NetworkSpec,
  RunResult,
  VolumeInfo,
  VolumeSpec,
} from "../container-runtime.js";
import type { SwarmEngine, TaskView } from "./engine.js";
import { removeService } from "./service-removal.js";
import {
  containerInfo,
  exitCodeOf,
  isTerminal,
  newestTasks,
  type ServiceShape,
  serviceSpec,
} from "./service-spec.js";
import { ensureSwarmNetwork, removeSwarmNetwork } from "./swarm-network.js";
import { TaskWatch, within } from "./task-watch.js";

/** How a SwarmRuntime places and shapes the services it creates. */
export interface SwarmRuntimeOptions {
  /** The manager's Engine API (a DockerRuntime): services, tasks, networks, images. */
  engine: SwarmEngine;
  /** Placement constraints on every service (`node.labels.nestbox==agents`). */
  placement?: string[];
  /** The driver every named volume is created with, on the manager and on the node a task lands on. */
  volumeDriver?: { name: string; options: Record<string, string> };
  /** The shared task poller's period (ms). */
  pollMs?: number;
  /** The stop grace Swarm gives a task it stops itself (a task on another node; a removed service): 5 s, as an agent's stop. */
  stopGraceSeconds?: number;
  /** How long create waits for the task to run (scheduling, an image pull on the node). */
  startTimeoutMs?: number;
}

const isMissing = (err: unknown) => err instanceof ContainerError && err.code === "DOCKER_404";

/** A task that ended before its process ran: rejected by the node, or its container would not start. */
const neverStarted = (t: TaskView) =>
  t.Status.State === "rejected" || /starting container failed/.test(t.Status.Err ?? "");

/**
 * The ContainerRuntime on a Docker Swarm: each container is a one-replica service (restart policy
 * none) whose one task is the container. There is no attach: agents dial the host (transport "dial").
 * Stop and kill act on the task's container where it runs on the manager's node; elsewhere Swarm
 * stops the task (scale to 0) with `stopGraceSeconds`.
 */
export class SwarmRuntime implements ContainerRuntime {
  readonly transport = "dial" as const;
  readonly #e: SwarmEngine;
  readonly #shape: ServiceShape;
  readonly #watch: TaskWatch;
  readonly #startTimeoutMs: number;
  readonly #pollMs: number;
  #nodeId: Promise<string> | null = null;

  constructor(options: SwarmRuntimeOptions) {
    this.#e = options.engine;
    this.#pollMs = options.pollMs ?? 250;
    this.#shape = {
      placement: options.placement ?? [],
      stopGraceSeconds: options.stopGraceSeconds ?? 5,
      ...(options.volumeDriver ? { volumeDriver: options.volumeDriver } : {}),
    };
    this.#watch = new TaskWatch(this.#e, this.#pollMs);
    this.#startTimeoutMs = options.startTimeoutMs ?? 120_000;
  }

  /** The engine's version; ContainerError SWARM_INACTIVE when it is not an active swarm manager. */
  async version(): Promise<string> {
    const version = await this.#e.version();
    const state = await this.#e.swarmState();
    if (state.localNodeState !== "active" || !state.manager) {
      throw new ContainerError(
        "SWARM_INACTIVE",
        `the Docker engine (${version}) is not an active swarm manager (swarm state: ${state.localNodeState}): ` +
          "run `docker swarm init --advertise-addr <this machine's address>`, or point DOCKER_HOST at a manager",
      );
    }
    return version;
  }

  /** Creates the service, which starts it; resolves once its task runs (or already ended). */
  async create(spec: ContainerSpec): Promise<string> {
    const id = await this.#e.createService(serviceSpec(spec, this.#shape));
    let task: TaskView | null;
    let seen: TaskView | undefined;
    try {
      task = await within(
        this.#watch.until(id, (t, gone) => {
          seen = t ?? seen;
          if (gone) return null;
          return t && (t.Status.State === "running" || isTerminal(t)) ? t : undefined;
        }),
        this.#startTimeoutMs,
        () => {
          // Swarm says why a task waits (no node satisfies the placement, an image pull...).
          const why = seen ? ` (task ${seen.Status.State}: ${seen.Status.Err ?? "no reason given"})` : "";
          return new ContainerError(
            "SWARM_START_TIMEOUT",
            `cannot create container ${spec.name} from ${spec.image}: its task did not run within ${this.#startTimeoutMs} ms${why}`,
          );
        },
      );
    } catch (err) {
      await this.remove(id).catch(() => {});
      throw err;
    }
    if (!task || neverStarted(task)) {
      await this.remove(id);
      throw new ContainerError(
        "SWARM_TASK_REJECTED",
        `cannot create container ${spec.name} from ${spec.image}: ${task?.Status.Err ?? "the service was removed"}`,
      );
    }
    return id;
  }

  async attach(id: string): Promise<AttachedStdio> {
    throw new ContainerError(
      "ATTACH_UNSUPPORTED",
      `cannot attach to ${id}: a swarm service has no attachable stdio (its agent dials the host)`,
    );
  }

  /** The service started on create: this only checks that it exists. */
  async start(id: string): Promise<void> {
    if (!(await this.#e.inspectService(id))) {
      throw new ContainerError("DOCKER_404", `cannot start service ${id}: no such service`);
    }
  }

  /** The task's exit code once it ends; -1 when it is removed before reporting one. */
  wait(id: string): Promise<number> {
    return this.#watch.until(id, (t, gone) => {
      if (t && isTerminal(t)) return exitCodeOf(t);
      return gone || !t ? -1 : undefined;
    });
  }

  async stop(id: string, timeoutSeconds: number): Promise<void> {
    await this.#end(id, (containerId) => this.#e.stop(containerId, timeoutSeconds));
    await within(
      this.wait(id),
      (Math.max(timeoutSeconds, this.#shape.stopGraceSeconds) + 30) * 1000,
      () => new ContainerError("SWARM_STOP_TIMEOUT", `service ${id} was still running after its stop`),
    );
  }

  async kill(id: string, signal = "SIGKILL"): Promise<void> {
    await this.#end(id, (containerId) => this.#e.kill(containerId, signal));
  }

  /** Ends the running task: through its container on this node, else by scaling the service to 0. */
  async #end(id: string, local: (containerId: string) => Promise<void>): Promise<void> {
    let task: TaskView | undefined;
    try {
      task = await this.#newest(id);
    } catch (err) {
      if (isMissing(err)) return;
      throw err;
    }
    if (!task || isTerminal(task)) return;
    const containerId = task.Status.ContainerStatus?.ContainerID;
    if (containerId && task.NodeID === (await this.#localNode())) return local(containerId);
    const service = await this.#e.inspectService(id);
    if (!service) return;
    await this.#e.updateService(id, service.Version.Index, {
      ...service.Spec,
      Mode: { Replicated: { Replicas: 0 } },
    });
  }

  /** One-shot service: its exit code and its logs; removed after, also when a step fails. */
  async run(spec: ContainerSpec): Promise<RunResult> {
    const id = await this.create(spec);
    try {
      const exitCode = await this.wait(id);
      const { stdout, stderr } = await this.#e.serviceLogs(id);
      return { exitCode, stdout, stderr };
    } finally {
      await this.remove(id);
    }
  }

  /** Removes the service (its task killed first where it runs here) and waits for its containers to go. */
  async remove(id: string): Promise<void> {
    await removeService(this.#e, id, await this.#localNode(), this.#pollMs);
  }

  async inspect(id: string): Promise<ContainerInfo | null> {
    const service = await this.#e.inspectService(id);
    if (!service) return null;
    try {
      return containerInfo(service, await this.#newest(id));
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  /** Services carrying every given label, each with its newest task (one task list call). */
  async list(labels: Record<string, string | undefined>): Promise<ContainerInfo[]> {
    const filters = Object.entries(labels).map(([k, v]) => (v === undefined ? k : `${k}=${v}`));
    const services = await this.#e.listServices({ label: filters });
    if (services.length === 0) return [];
    let tasks: TaskView[];
    try {
      tasks = await this.#e.listTasks({ service: services.map((s) => s.ID) });
    } catch (err) {
      // One went between the two calls: ask for each on its own.
      if (!isMissing(err)) throw err;
      const each = await Promise.all(
        services.map((s) =>
          this.#e.listTasks({ service: [s.ID] }).catch((e) => (isMissing(e) ? [] : Promise.reject(e))),
        ),
      );
      tasks = each.flat();
    }
    const newest = newestTasks(tasks);
    return services.map((s) => containerInfo(s, newest.get(s.ID)));
  }

  /**
   * The running task's address on `network`: Swarm's own allocation (overlay), or, for a task on this
   * node, its container's address on the node's bridge. null elsewhere (another node's bridge is that node's).
   */
  async containerAddress(id: string, network: string): Promise<string | null> {
    let task: TaskView | undefined;
    try {
      task = await this.#newest(id);
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
    if (task?.Status.State !== "running") return null;
    const attached = task.NetworksAttachments?.find((a) => a.Network?.Spec?.Name === network);
    const allocated = attached?.Addresses?.[0]?.split("/")[0];
    if (allocated) return allocated;
    const containerId = task.Status.ContainerStatus?.ContainerID;
    if (!containerId || task.NodeID !== (await this.#localNode())) return null;
    return this.#e.containerAddress(containerId, network);
  }

  ensureNetwork(name: string, spec: NetworkSpec): Promise<NetworkInfo> {
    return ensureSwarmNetwork(this.#e, name, spec);
  }

  removeNetwork(name: string): Promise<void> {
    return removeSwarmNetwork(this.#e, name);
  }

  /** Creates the volume on the manager's node with the configured driver (other nodes: from the mount). */
  ensureVolume(name: string, spec: VolumeSpec): Promise<void> {
    const driver = this.#shape.volumeDriver;
    return this.#e.ensureVolume(name, {
      labels: spec.labels,
      ...((spec.driver ?? driver?.name) ? { driver: spec.driver ?? driver?.name } : {}),
      ...((spec.driverOptions ?? driver?.options)
        ? { driverOptions: spec.driverOptions ?? driver?.options }
        : {}),
    });
  }

  /** Removes the volume on the manager's node (a node's own copy of a local-driver volume stays there). */
  removeVolume(name: string): Promise<void> {
    return this.#e.removeVolume(name);
  }

  /** The manager node's volumes. */
  listVolumes(labels: Record<string, string | undefined>): Promise<VolumeInfo[]> {
    return this.#e.listVolumes(labels);
  }

  imageExists(tag: string): Promise<boolean> {
    return this.#e.imageExists(tag);
  }

  inspectImage(ref: string): Promise<ImageInfo | null> {
    return this.#e.inspectImage(ref);
  }

  removeImage(ref: string, options?: { force?: boolean }): Promise<void> {
    return this.#e.removeImage(ref, options);
  }

  bridgeGateway(): Promise<string | null> {
    return this.#e.bridgeGateway();
  }

  buildImage(spec: BuildSpec): Promise<void> {
    return this.#e.buildImage(spec);
  }

  async #newest(id: string): Promise<TaskView | undefined> {
    return newestTasks(await this.#e.listTasks({ service: [id] })).get(id);
  }

  #localNode(): Promise<string> {
    this.#nodeId ??= this.#e.swarmState().then(
      (s) => s.nodeId,
      (err) => {
        this.#nodeId = null;
        throw err;
      },
    );
    return this.#nodeId;
  }
}
