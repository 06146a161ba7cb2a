import type { ContainerRuntime } from "../container-runtime.js";

/** A Swarm service spec as the Engine API (1.41) takes it: the parts nestbox sets. */
export interface ServiceSpec {
  Name: string;
  Labels: Record<string, string>;
  TaskTemplate: {
    ContainerSpec: {
      Image: string;
      Labels: Record<string, string>;
      Command?: string[];
      Args?: string[];
      Env: string[];
      User?: string;
      Dir?: string;
      Init?: boolean;
      ReadOnly?: boolean;
      CapabilityDrop?: string[];
      /** `IP name [name...]` entries (not Docker's `name:IP`). */
      Hosts?: string[];
      Mounts: ServiceMount[];
      /** Nanoseconds. */
      StopGracePeriod?: number;
    };
    Resources?: { Limits?: { MemoryBytes?: number; NanoCPUs?: number; Pids?: number } };
    RestartPolicy: { Condition: "none" | "on-failure" | "any"; MaxAttempts?: number };
    Placement?: { Constraints?: string[] };
    Networks?: { Target: string }[];
  };
  Mode: { Replicated: { Replicas: number } };
}

/** One mount of a service's containers. */
export interface ServiceMount {
  Type: "bind" | "volume" | "tmpfs";
  Source?: string;
  Target: string;
  ReadOnly?: boolean;
  VolumeOptions?: {
    Labels?: Record<string, string>;
    DriverConfig?: { Name: string; Options?: Record<string, string> };
  };
  TmpfsOptions?: { SizeBytes?: number; Mode?: number };
}

/** A service as the engine reports it. */
export interface ServiceView {
  ID: string;
  Version: { Index: number };
  Spec: ServiceSpec;
}

/** A task (one run of a service's container) as the engine reports it. */
export interface TaskView {
  ID: string;
  ServiceID: string;
  NodeID?: string;
  CreatedAt: string;
  DesiredState: string;
  Status: {
    State: string;
    Err?: string;
    ContainerStatus?: { ContainerID?: string; ExitCode?: number };
  };
  /** Swarm-allocated addresses (overlay networks); a swarm-scoped bridge's are the node's own business. */
  NetworksAttachments?: { Network?: { Spec?: { Name?: string } }; Addresses?: string[] | null }[];
}

/** A network as the engine reports it (the fields the swarm network pair needs). */
export interface NetworkView {
  Name: string;
  Driver?: string;
  Scope?: string;
  Internal?: boolean;
  ConfigOnly?: boolean;
  ConfigFrom?: { Network?: string };
  Labels?: Record<string, string> | null;
  Options?: Record<string, string> | null;
  IPAM?: { Config?: { Gateway?: string; Subnet?: string }[] | null };
}

/** A network create request: a per-node config-only network, or a swarm-scoped one built from it. */
export interface NetworkCreate {
  Name: string;
  Driver?: string;
  Scope?: "local" | "swarm";
  ConfigOnly?: boolean;
  ConfigFrom?: { Network: string };
  Internal?: boolean;
  Labels?: Record<string, string>;
  Options?: Record<string, string>;
  IPAM?: { Config: { Subnet: string; Gateway: string }[] };
}

/** The daemon's place in a swarm. */
export interface SwarmState {
  /** `inactive`, `pending`, `active`, `error`, `locked`. */
  localNodeState: string;
  nodeId: string;
  /** This daemon is a manager (it can create services). */
  manager: boolean;
}

/**
 * The Engine API calls the swarm runtime needs beyond a local ContainerRuntime (services, tasks,
 * raw networks). Implemented by DockerRuntime, so dockerode stays in one file.
 */
export interface SwarmEngine extends ContainerRuntime {
  swarmState(): Promise<SwarmState>;
  createService(spec: ServiceSpec): Promise<string>;
  /** null when there is no such service. */
  inspectService(id: string): Promise<ServiceView | null>;
  updateService(id: string, version: number, spec: ServiceSpec): Promise<void>;
  /** A service already gone is not an error. */
  removeService(id: string): Promise<void>;
  listServices(filters: { label?: string[]; id?: string[] }): Promise<ServiceView[]>;
  /** Throws ContainerError DOCKER_404 when a named service does not exist. */
  listTasks(filters: { service?: string[]; id?: string[] }): Promise<TaskView[]>;
  /** Everything the service's tasks wrote so far, stdout and stderr apart. */
  serviceLogs(id: string): Promise<{ stdout: string; stderr: string }>;
  inspectNetwork(name: string): Promise<NetworkView | null>;
  createNetwork(spec: NetworkCreate): Promise<void>;
}
