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
} from "./container-runtime.js";
import { type DockerEndpoint, dockerConnection, dockerUnreachable } from "./docker-connection.js";
import { packTar } from "./tar.js";

/** Where the Docker engine is and how to talk to it (DOCKER_HOST, TLS, ssh): see {@link dockerConnection}. */
export type DockerRuntimeConfig = DockerEndpoint;

/** Docker's bridge driver option that turns inter-container traffic on a network on or off. */
const ICC = "com.docker.network.bridge.enable_icc";

interface RawNetwork {
  Name: string;
  Driver?: string;
  Internal?: boolean;
  Labels?: Record<string, string> | null;
  Options?: Record<string, string> | null;
  IPAM?: { Config?: { Gateway?: string; Subnet?: string }[] | null };
}

/** The network's IPv4 gateway; older engines leave it out for the default bridge: the subnet's first address. */
function gatewayOf(net: RawNetwork): string | null {
  const configs = net.IPAM?.Config ?? [];
  const gateway = configs.find((c) => c.Gateway && !c.Gateway.includes(":"))?.Gateway;
  if (gateway) return gateway;
  const v4 = configs.map((c) => /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/\d+$/.exec(c.Subnet ?? "")).find(Boolean);
  return v4 ? `${v4[1]}.${v4[2]}.${v4[3]}.${Number(v4[4]) + 1}` : null;
}

/** How long run() waits, after the exit, for the attach stream to hand over the last output. */
const OUTPUT_DRAIN_MS = 2_000;

/** Collects a stream's text; `ended` resolves when it ends (never rejects). */
function collect(stream: NodeJS.ReadableStream): { text: () => string; ended: Promise<void> } {
  const chunks: Buffer[] = [];
  stream.on("data", (d: Buffer) => chunks.push(d));
  const ended = new Promise<void>((resolve) => {
    stream.once("end", resolve);
    stream.once("close", resolve);
    stream.once("error", () => resolve());
  });
  return { text: () => Buffer.concat(chunks).toString(), ended };
}

const statusOf = (err: unknown) => (err as { statusCode?: number }).statusCode;

function wrap(what: string, err: unknown): ContainerError {
  const message =
    (err as { json?: { message?: string } }).json?.message ?? (err as Error).message ?? String(err);
  const code = statusOf(err) === undefined ? "DOCKER_UNREACHABLE" : `DOCKER_${statusOf(err)}`;
  return new ContainerError(code, `${what}: ${message}`, { cause: err });
}

/** The ContainerRuntime backed by the Docker Engine API (dockerode). */
export class DockerRuntime implements ContainerRuntime {
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
        mounts: (i.Mounts ?? []).map((m) => ({
          source: m.Source,
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
          existing.Options?.[ICC] === "false";
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
      // The engine answers 403 (older) or 409 while containers still have endpoints on it.
      if (statusOf(err) === 403 || statusOf(err) === 409)
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
