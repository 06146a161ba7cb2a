import type { Readable, Writable } from "node:stream";

/** A bind mount from a host path (as the daemon sees it) into a container. */
export interface BindMount {
  hostPath: string;
  containerPath: string;
  readOnly: boolean;
}

/** A named volume mounted into a container (chat folders on runtimes without shared host paths). */
export interface VolumeMount {
  volume: string;
  containerPath: string;
  readOnly: boolean;
}

/** A named volume to create: its labels, and the driver (the runtime's configured one when unset). */
export interface VolumeSpec {
  labels: Record<string, string>;
  driver?: string;
  driverOptions?: Record<string, string>;
}

/** A volume as the engine reports it. */
export interface VolumeInfo {
  name: string;
  driver: string;
  labels: Record<string, string>;
}

/** Everything needed to create a container. */
export interface ContainerSpec {
  name: string;
  image: string;
  labels: Record<string, string>;
  env: Record<string, string>;
  cmd?: string[];
  entrypoint?: string[];
  user?: string;
  workingDir?: string;
  mounts: BindMount[];
  /** Named volumes; a runtime creates a missing one with the driver it was configured with. */
  volumes?: VolumeMount[];
  tmpfs?: Record<string, string>;
  readOnlyRootfs?: boolean;
  capDrop?: string[];
  securityOpt?: string[];
  init?: boolean;
  memoryBytes?: number;
  nanoCpus?: number;
  pidsLimit?: number;
  extraHosts?: string[];
  /** The network the container joins (HostConfig.NetworkMode); the engine's default bridge when unset. */
  network?: string;
  /**
   * Keep stdin open for the attached protocol, for one attached client: when it goes (closed, or its
   * process killed) the container's stdin ends, so a runner never outlives its host.
   */
  openStdin?: boolean;
}

/** What the engine reports about a container. */
export interface ContainerInfo {
  id: string;
  name: string;
  image: string;
  labels: Record<string, string>;
  running: boolean;
  status: string;
  exitCode: number | null;
  /** `KEY=value` entries (inspect only; empty from `list`). */
  env: string[];
  cmd: string[];
  user: string;
  mounts: { source: string; destination: string; readOnly: boolean }[];
  oomKilled: boolean;
}

/** A bridge network to create: inter-container traffic is always off. */
export interface NetworkSpec {
  /** No route out of the host (Docker `internal`): containers reach only the host itself. */
  internal: boolean;
  labels: Record<string, string>;
  /** The network's IPv4 subnet (CIDR); its first address is the gateway. Required by the swarm runtime. */
  subnet?: string;
}

/** A network as the engine reports it. */
export interface NetworkInfo {
  name: string;
  /** The host's address on that network (null when the engine reports none). */
  gateway: string | null;
  internal: boolean;
}

/** A container's attached stdio: stdout and stderr already demultiplexed. */
export interface AttachedStdio {
  stdin: Writable;
  stdout: Readable;
  stderr: Readable;
  /** Ends the attach stream (not the container). */
  close(): void;
}

/** What a one-shot container left behind: its exit code and everything it wrote. */
export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Progress of an image build, one line at a time. */
export type BuildProgress = (line: string) => void;

/** An image build request; `files` maps paths in the build context to their content. */
export interface BuildSpec {
  tag: string;
  files: Record<string, Buffer | string>;
  dockerfile?: string;
  buildArgs?: Record<string, string>;
  /** Build only up to this stage of a multi-stage Dockerfile (`--target`). */
  target?: string;
  /** Labels the built image carries (e.g. the hash of the sources it was built from). */
  labels?: Record<string, string>;
  onProgress?: BuildProgress;
}

/** What the engine reports about an image. */
export interface ImageInfo {
  /** The content id (`sha256:...`): stays the same while tags move. */
  id: string;
  /** `repo:tag` names pointing at it; none: the image is untagged (dangling unless a container uses it). */
  tags: string[];
  labels: Record<string, string>;
}

/**
 * The container engine, as nestbox uses it: `docker-runtime.ts` (the only file that imports dockerode)
 * and `swarm/swarm-runtime.ts` (services on a Docker Swarm); both pass the runtime conformance suite.
 */
export interface ContainerRuntime {
  /** How the host talks to this runtime's containers: attached stdio, or the agent dials the host. */
  readonly transport: "attach" | "dial";
  /** The engine's version; throws ContainerError when it cannot be reached. */
  version(): Promise<string>;
  create(spec: ContainerSpec): Promise<string>;
  /** Attaches stdin/stdout/stderr; call before `start` so no output is missed (transport "attach" only). */
  attach(id: string): Promise<AttachedStdio>;
  start(id: string): Promise<void>;
  /** Resolves with the exit code once the container stops. */
  wait(id: string): Promise<number>;
  stop(id: string, timeoutSeconds: number): Promise<void>;
  kill(id: string, signal?: string): Promise<void>;
  /**
   * Runs a one-shot container to its end: create, attach, start, wait, collect all of its output,
   * remove (also when a step fails). Throws ContainerError when a step fails, not for a non-zero exit.
   */
  run(spec: ContainerSpec): Promise<RunResult>;
  /** Removes the container (forcefully); a container already gone is not an error. */
  remove(id: string): Promise<void>;
  /** null when the container does not exist. */
  inspect(id: string): Promise<ContainerInfo | null>;
  /** Containers (running or not) carrying every given label (`value` undefined: any value). */
  list(labels: Record<string, string | undefined>): Promise<ContainerInfo[]>;
  imageExists(tag: string): Promise<boolean>;
  /** The image's id and labels; null when there is no such image. */
  inspectImage(ref: string): Promise<ImageInfo | null>;
  /**
   * Removes an image by tag or id, forcefully unless `force: false` (then an image a container still
   * uses, or one with other tags, is refused: ContainerError DOCKER_409). One already gone is not an error.
   */
  removeImage(ref: string, options?: { force?: boolean }): Promise<void>;
  /** The gateway address of the default bridge network (agents are not on it: see `ensureNetwork`). */
  bridgeGateway(): Promise<string | null>;
  /**
   * Creates a bridge network with inter-container traffic off, or returns it when it exists with the
   * same settings and labels. One with other settings is replaced (which fails with code
   * DOCKER_NETWORK_IN_USE while containers use it); one without these labels is not ours: ContainerError.
   */
  ensureNetwork(name: string, spec: NetworkSpec): Promise<NetworkInfo>;
  /** Removes a network; one already gone is not an error; one still used: DOCKER_NETWORK_IN_USE. */
  removeNetwork(name: string): Promise<void>;
  /** The container's IPv4 address on `network`; null when the container or its endpoint there is absent. */
  containerAddress(id: string, network: string): Promise<string | null>;
  buildImage(spec: BuildSpec): Promise<void>;
  /** Creates a named volume, or leaves an existing one (same name) as it is. */
  ensureVolume(name: string, spec: VolumeSpec): Promise<void>;
  /** Removes a volume; one already gone is not an error; one in use: ContainerError DOCKER_VOLUME_IN_USE. */
  removeVolume(name: string): Promise<void>;
  /** Volumes carrying every given label (`value` undefined: any value). */
  listVolumes(labels: Record<string, string | undefined>): Promise<VolumeInfo[]>;
}
