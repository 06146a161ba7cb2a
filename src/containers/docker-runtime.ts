import { type Duplex, PassThrough } from "node:stream";
import Docker from "dockerode";
import { ContainerError } from "../errors.js";
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
} from "./container-runtime.js";
import { type DockerEndpoint, dockerConnection, dockerUnreachable } from "./docker-connection.js";
import {
  collect,
  demuxLogs,
  firstAddress,
  gatewayOf,
  ICC,
  type IpamView,
  statusOf,
  subnetOf,
  wrap,
} from "./docker-util.js";
import type {
  NetworkCreate,
  NetworkView,
  ServiceSpec,
  ServiceView,
  SwarmEngine,
  SwarmState,
  TaskView,
} from "./swarm/engine.js";
import { packTar } from "./tar.js";

/** Where the Docker engine is and how to talk to it (DOCKER_HOST, TLS, ssh): see {@link dockerConnection}. */
export type DockerRuntimeConfig = DockerEndpoint;

/** How long run() waits, after the exit, for the attach stream to hand over the last output. */
const OUTPUT_DRAIN_MS = 2_000;

interface RawNetwork extends IpamView {
  Name: string;
  Driver?: string;
  Internal?: boolean;
  Labels?: Record<string, string> | null;
  Options?: Record<string, string> | null;
}

/** A subnet's IPAM entry, its gateway the first address. */
function ipamConfig(subnet: string): { Subnet: string; Gateway: string } {
  const gateway = firstAddress(subnet);
  if (!gateway) throw new ContainerError("NETWORK_SUBNET_INVALID", `${subnet} is not an IPv4 CIDR subnet`);
  return { Subnet: subnet, Gateway: gateway };
}

/**
 * The ContainerRuntime backed by the Docker Engine API (dockerode), with attached stdio; also the
 * SwarmEngine (services, tasks) the swarm runtime drives.
 */
export class DockerRuntime implements ContainerRuntime, SwarmEngine {
  readonly transport = "attach" as const;
  readonly #docker: Docker;
  /** Where the engine is, for messages: the socket path or DOCKER_HOST. */
  readonly #endpoint: string;

  constructor(config: DockerRuntimeConfig = {}) {
    const options = dockerConnection(config);
    this.#docker = new Docker(options);
    this.#endpoint = config.dockerHost?.trim() || options.socketPath || "the default socket";
  }

  async version(): Promise<string> {
    try {
      return (await this.#docker.version()).Version;
    } catch (err) {
      throw dockerUnreachable(err, this.#endpoint);
    }
  }

  async create(spec: ContainerSpec): Promise<string> {
    try {
      const c = await this.#docker.createContainer({
        name: spec.name,
        Image: spec.image,
        Labels: spec.labels,
        Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
        Cmd: spec.cmd,
        Entrypoint: spec.entrypoint,
        User: spec.user,
        WorkingDir: spec.workingDir,
        OpenStdin: spec.openStdin ?? false,
        // The engine closes the container's stdin once the one attached client goes (a host killed
        // with SIGKILL included): the runner reads end of input and exits, instead of outliving its host.
        StdinOnce: spec.openStdin ?? false,
        AttachStdin: spec.openStdin ?? false,
        AttachStdout: true,
        AttachStderr: true,
        Tty: false,
        HostConfig: {
          Binds: spec.mounts.map((m) => `${m.hostPath}:${m.containerPath}:${m.readOnly ? "ro" : "rw"}`),
          Mounts: (spec.volumes ?? []).map((v) => ({
            Type: "volume" as const,
            Source: v.volume,
            Target: v.containerPath,
            ReadOnly: v.readOnly,
          })),
          Tmpfs: spec.tmpfs,
          ReadonlyRootfs: spec.readOnlyRootfs ?? false,
          CapDrop: spec.capDrop,
          SecurityOpt: spec.securityOpt,
          Init: spec.init ?? false,
          Memory: spec.memoryBytes,
          MemorySwap: spec.memoryBytes,
          NanoCpus: spec.nanoCpus,
          PidsLimit: spec.pidsLimit,
          ExtraHosts: spec.extraHosts,
          NetworkMode: spec.network,
        },
      });
      return c.id;
    } catch (err) {
      throw wrap(`cannot create container ${spec.name} from ${spec.image}`, err);
    }
  }

  async attach(id: string): Promise<AttachedStdio> {
    try {
      // With hijack the engine hands back the raw duplex socket.
      const stream = (await this.#docker.getContainer(id).attach({
        stream: true,
        stdin: true,
        stdout: true,
        stderr: true,
        hijack: true,
      })) as unknown as Duplex;
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      this.#docker.modem.demuxStream(stream, stdout, stderr);
      const end = () => {
        stdout.end();
        stderr.end();
      };
      stream.on("end", end);
      stream.on("close", end);
      stream.on("error", end);
      return {
        stdin: stream,
        stdout,
        stderr,
        close: () => {
          stream.destroy();
          end();
        },
      };
    } catch (err) {
      throw wrap(`cannot attach to container ${id}`, err);
    }
  }

  async start(id: string): Promise<void> {
    try {
      await this.#docker.getContainer(id).start();
    } catch (err) {
      throw wrap(`cannot start container ${id}`, err);
    }
  }

  async wait(id: string): Promise<number> {
    try {
      const r = (await this.#docker.getContainer(id).wait()) as { StatusCode: number };
      return r.StatusCode;
    } catch (err) {
      if (statusOf(err) === 404) return -1;
      throw wrap(`cannot wait for container ${id}`, err);
    }
  }

  async stop(id: string, timeoutSeconds: number): Promise<void> {
    try {
      await this.#docker.getContainer(id).stop({ t: timeoutSeconds });
    } catch (err) {
      if (statusOf(err) === 304 || statusOf(err) === 404) return;
      throw wrap(`cannot stop container ${id}`, err);
    }
  }

  async kill(id: string, signal = "SIGKILL"): Promise<void> {
    try {
      await this.#docker.getContainer(id).kill({ signal });
    } catch (err) {
      if (statusOf(err) === 404 || statusOf(err) === 409) return;
      throw wrap(`cannot kill container ${id}`, err);
    }
  }

  async run(spec: ContainerSpec): Promise<RunResult> {
    const id = await this.create(spec);
    let result: RunResult | null = null;
    let failure: unknown = null;
    try {
      // Attached before start, so not a byte of a short-lived container's output is missed.
      const io = await this.attach(id);
      const out = collect(io.stdout);
      const err = collect(io.stderr);
      try {
        await this.start(id);
        const exitCode = await this.wait(id);
        // wait() can return before the attach stream has delivered the last bytes: wait for its end.
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          Promise.all([out.ended, err.ended]),
          new Promise((r) => {
            timer = setTimeout(r, OUTPUT_DRAIN_MS);
          }),
        ]);
        clearTimeout(timer);
        result = { exitCode, stdout: out.text(), stderr: err.text() };
      } finally {
        io.close();
      }
    } catch (e) {
      failure = e;
    }
    try {
      await this.remove(id);
    } catch (e) {
      failure ??= e;
    }
    if (failure || !result) throw failure;
    return result;
  }

  async remove(id: string): Promise<void> {
    const container = this.#docker.getContainer(id);
    try {
      await container.remove({ force: true, v: true });
    } catch (err) {
      if (statusOf(err) === 404) return;
      if (!(statusOf(err) === 409 && /in progress/.test((err as Error).message))) {
        throw wrap(`cannot remove container ${id}`, err);
      }
    }
    // Removal can still be finishing (another caller's, or the engine's own): wait until it is gone.
    for (let i = 0; i < 150; i++) {
      try {
        await container.inspect();
      } catch (err) {
        if (statusOf(err) === 404) return;
        throw wrap(`cannot inspect container ${id}`, err);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new ContainerError("DOCKER_REMOVE_TIMEOUT", `container ${id} was still there 15 s after removal`);
  }

  async inspect(id: string): Promise<ContainerInfo | null> {
    try {
      const i = await this.#docker.getContainer(id).inspect();
      return {
        id: i.Id,
        name: i.Name.replace(/^\//, ""),
        image: i.Config.Image,
        labels: i.Config.Labels ?? {},
        running: i.State.Running,
        status: i.State.Status,
        exitCode: i.State.Running ? null : i.State.ExitCode,
        env: i.Config.Env ?? [],
        cmd: [
          ...(i.Config.Entrypoint ? ([] as string[]).concat(i.Config.Entrypoint) : []),
          ...(i.Config.Cmd ?? []),
        ],
        user: i.Config.User,
        // A named volume is reported by its name (where the engine keeps it is its own business).
        mounts: (i.Mounts ?? []).map((m) => ({
          source: m.Type === "volume" && m.Name ? m.Name : m.Source,
          destination: m.Destination,
          readOnly: !m.RW,
        })),
        oomKilled: i.State.OOMKilled,
      };
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw wrap(`cannot inspect container ${id}`, err);
    }
  }

  async list(labels: Record<string, string | undefined>): Promise<ContainerInfo[]> {
    const filters = Object.entries(labels).map(([k, v]) => (v === undefined ? k : `${k}=${v}`));
    try {
      const list = await this.#docker.listContainers({ all: true, filters: { label: filters } });
      return list.map((c) => ({
        id: c.Id,
        name: (c.Names[0] ?? "").replace(/^\//, ""),
        image: c.Image,
        labels: c.Labels ?? {},
        running: c.State === "running",
        status: c.State,
        exitCode: null,
        env: [],
        cmd: [c.Command],
        user: "",
        mounts: (c.Mounts ?? []).map((m) => ({
          source: m.Source,
          destination: m.Destination,
          readOnly: !m.RW,
        })),
        oomKilled: false,
      }));
    } catch (err) {
      throw wrap("cannot list containers", err);
    }
  }

  async imageExists(tag: string): Promise<boolean> {
    try {
      await this.#docker.getImage(tag).inspect();
      return true;
    } catch (err) {
      if (statusOf(err) === 404) return false;
      throw wrap(`cannot inspect image ${tag}`, err);
    }
  }

  async inspectImage(ref: string): Promise<ImageInfo | null> {
    try {
      const i = await this.#docker.getImage(ref).inspect();
      return { id: i.Id, tags: i.RepoTags ?? [], labels: i.Config?.Labels ?? {} };
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw wrap(`cannot inspect image ${ref}`, err);
    }
  }

  async removeImage(ref: string, options: { force?: boolean } = {}): Promise<void> {
    try {
      await this.#docker.getImage(ref).remove({ force: options.force ?? true });
    } catch (err) {
      if (statusOf(err) !== 404) throw wrap(`cannot remove image ${ref}`, err);
    }
  }

  async bridgeGateway(): Promise<string | null> {
    const net = await this.#network("bridge");
    return net ? gatewayOf(net) : null;
  }

  async ensureNetwork(name: string, spec: NetworkSpec): Promise<NetworkInfo> {
    // Two tries: a concurrent creator can win the race between our inspect and our create.
    for (let attempt = 0; attempt < 2; attempt++) {
      const existing = await this.#network(name);
      if (existing) {
        const labels = existing.Labels ?? {};
        if (!Object.entries(spec.labels).every(([k, v]) => labels[k] === v)) {
          throw new ContainerError(
            "DOCKER_NETWORK_CONFLICT",
            `a Docker network named ${name} exists without the labels ${JSON.stringify(spec.labels)}: ` +
              "nestbox did not create it; remove or rename it (docker network rm)",
          );
        }
        const same =
          existing.Driver === "bridge" &&
          (existing.Internal ?? false) === spec.internal &&
          existing.Options?.[ICC] === "false" &&
          (spec.subnet === undefined || subnetOf(existing) === spec.subnet);
        if (same) return { name, gateway: gatewayOf(existing), internal: spec.internal };
        await this.removeNetwork(name);
      }
      try {
        await this.#docker.createNetwork({
          Name: name,
          Driver: "bridge",
          Internal: spec.internal,
          CheckDuplicate: true,
          Labels: spec.labels,
          Options: { [ICC]: "false" },
          ...(spec.subnet ? { IPAM: { Config: [ipamConfig(spec.subnet)] } } : {}),
        });
      } catch (err) {
        if (statusOf(err) !== 409) throw wrap(`cannot create network ${name}`, err);
      }
    }
    const created = await this.#network(name);
    if (!created) throw new ContainerError("DOCKER_NETWORK_GONE", `network ${name} vanished after creation`);
    return { name, gateway: gatewayOf(created), internal: created.Internal ?? false };
  }

  async removeNetwork(name: string): Promise<void> {
    try {
      await this.#docker.getNetwork(name).remove();
    } catch (err) {
      if (statusOf(err) === 404) return;
      const e = wrap(`cannot remove network ${name}`, err);
      // The engine answers 403 (older) or 409 while containers still have endpoints on it; a swarm
      // network a service still uses: 400 (FailedPrecondition).
      const inUse = statusOf(err) === 400 && /in use/.test(e.message);
      if (statusOf(err) === 403 || statusOf(err) === 409 || inUse)
        throw new ContainerError("DOCKER_NETWORK_IN_USE", `${e.message} (containers still use it)`, {
          cause: err,
        });
      throw e;
    }
  }

  async containerAddress(id: string, network: string): Promise<string | null> {
    try {
      const i = await this.#docker.getContainer(id).inspect();
      const endpoint = (i.NetworkSettings.Networks as Record<string, { IPAddress?: string }>)[network];
      return endpoint?.IPAddress || null;
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw wrap(`cannot inspect container ${id}`, err);
    }
  }

  async #network(name: string): Promise<RawNetwork | null> {
    try {
      return (await this.#docker.getNetwork(name).inspect()) as RawNetwork;
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw wrap(`cannot inspect network ${name}`, err);
    }
  }

  async ensureVolume(name: string, spec: VolumeSpec): Promise<void> {
    try {
      await this.#docker.getVolume(name).inspect();
      return;
    } catch (err) {
      if (statusOf(err) !== 404) throw wrap(`cannot inspect volume ${name}`, err);
    }
    try {
      await this.#docker.createVolume({
        Name: name,
        Driver: spec.driver ?? "local",
        DriverOpts: spec.driverOptions ?? {},
        Labels: spec.labels,
      });
    } catch (err) {
      throw wrap(`cannot create volume ${name}`, err);
    }
  }

  async removeVolume(name: string): Promise<void> {
    try {
      await this.#docker.getVolume(name).remove();
    } catch (err) {
      if (statusOf(err) === 404) return;
      const e = wrap(`cannot remove volume ${name}`, err);
      if (statusOf(err) === 409)
        throw new ContainerError("DOCKER_VOLUME_IN_USE", `${e.message} (a container still uses it)`, {
          cause: err,
        });
      throw e;
    }
  }

  async listVolumes(labels: Record<string, string | undefined>): Promise<VolumeInfo[]> {
    const filters = Object.entries(labels).map(([k, v]) => (v === undefined ? k : `${k}=${v}`));
    try {
      const r = await this.#docker.listVolumes({ filters: { label: filters } });
      return (r.Volumes ?? []).map((v) => ({ name: v.Name, driver: v.Driver, labels: v.Labels ?? {} }));
    } catch (err) {
      throw wrap("cannot list volumes", err);
    }
  }

  async swarmState(): Promise<SwarmState> {
    try {
      const info = (await this.#docker.info()) as {
        Swarm?: { LocalNodeState?: string; NodeID?: string; ControlAvailable?: boolean };
      };
      return {
        localNodeState: info.Swarm?.LocalNodeState ?? "inactive",
        nodeId: info.Swarm?.NodeID ?? "",
        manager: info.Swarm?.ControlAvailable ?? false,
      };
    } catch (err) {
      throw dockerUnreachable(err, this.#endpoint);
    }
  }

  async createService(spec: ServiceSpec): Promise<string> {
    try {
      const s = (await this.#docker.createService(spec as unknown as Docker.CreateServiceOptions)) as {
        id: string;
      };
      return s.id;
    } catch (err) {
      throw wrap(`cannot create service ${spec.Name} from ${spec.TaskTemplate.ContainerSpec.Image}`, err);
    }
  }

  async inspectService(id: string): Promise<ServiceView | null> {
    try {
      return (await this.#docker.getService(id).inspect()) as ServiceView;
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw wrap(`cannot inspect service ${id}`, err);
    }
  }

  async updateService(id: string, version: number, spec: ServiceSpec): Promise<void> {
    try {
      await this.#docker.getService(id).update({ ...spec, version } as unknown as Docker.ServiceSpec);
    } catch (err) {
      throw wrap(`cannot update service ${id}`, err);
    }
  }

  async removeService(id: string): Promise<void> {
    try {
      await this.#docker.getService(id).remove();
    } catch (err) {
      if (statusOf(err) !== 404) throw wrap(`cannot remove service ${id}`, err);
    }
  }

  async listServices(filters: { label?: string[]; id?: string[] }): Promise<ServiceView[]> {
    try {
      return (await this.#docker.listServices({ filters })) as unknown as ServiceView[];
    } catch (err) {
      throw wrap("cannot list services", err);
    }
  }

  async listTasks(filters: { service?: string[]; id?: string[] }): Promise<TaskView[]> {
    try {
      return (await this.#docker.listTasks({ filters })) as unknown as TaskView[];
    } catch (err) {
      throw wrap("cannot list tasks", err);
    }
  }

  async serviceLogs(id: string): Promise<{ stdout: string; stderr: string }> {
    try {
      const logs = this.#docker.getService(id).logs({ stdout: true, stderr: true, follow: false });
      // Without follow the engine's whole answer comes back at once, not a stream.
      const data = (await logs) as unknown as Buffer | string;
      return demuxLogs(Buffer.isBuffer(data) ? data : Buffer.from(data, "binary"));
    } catch (err) {
      throw wrap(`cannot read the logs of service ${id}`, err);
    }
  }

  async inspectNetwork(name: string): Promise<NetworkView | null> {
    return (await this.#network(name)) as NetworkView | null;
  }

  async createNetwork(spec: NetworkCreate): Promise<void> {
    try {
      await this.#docker.createNetwork({ ...spec, CheckDuplicate: true } as Docker.NetworkCreateOptions);
    } catch (err) {
      throw wrap(`cannot create network ${spec.Name}`, err);
    }
  }

  async buildImage(spec: BuildSpec): Promise<void> {
    let stream: NodeJS.ReadableStream;
    try {
      stream = await this.#docker.buildImage(packTar(spec.files), {
        t: spec.tag,
        dockerfile: spec.dockerfile ?? "Dockerfile",
        buildargs: spec.buildArgs,
        labels: spec.labels,
        ...(spec.target ? { target: spec.target } : {}),
        rm: true,
        forcerm: true,
      });
    } catch (err) {
      throw wrap(`cannot build image ${spec.tag}`, err);
    }
    await new Promise<void>((resolve, reject) => {
      this.#docker.modem.followProgress(
        stream,
        (err, output) => {
          if (err) return reject(wrap(`image build ${spec.tag} failed`, err));
          const failure = (output as { error?: string; errorDetail?: { message?: string } }[]).find(
            (o) => o.error,
          );
          if (failure) {
            return reject(
              new ContainerError("IMAGE_BUILD_FAILED", `image build ${spec.tag} failed: ${failure.error}`),
            );
          }
          resolve();
        },
        (event: { stream?: string; status?: string; error?: string }) => {
          const line = (event.stream ?? event.status ?? event.error ?? "").replace(/\n$/, "");
          if (line && spec.onProgress) spec.onProgress(line);
        },
      );
    });
  }
}
