import { PassThrough } from "node:stream";
import { finished } from "node:stream/promises";
import { FrameWriter } from "../../container/agent-runner/src/frame-writer.js";
import { readKeyLine } from "../../container/agent-runner/src/protocol-fds.js";
import type { RunnerAgent } from "../../container/agent-runner/src/runner-agent.js";
import { ServeLoop } from "../../container/agent-runner/src/serve.js";
import type {
  AttachedStdio,
  ContainerInfo,
  ContainerRuntime,
  ContainerSpec,
  ImageInfo,
  NetworkInfo,
  NetworkSpec,
  RunResult,
  VolumeInfo,
} from "../../src/containers/container-runtime.js";

/** One fake container: its stdio as in-process pipes, from the container's side. */
export interface PipeContainer {
  id: string;
  spec: ContainerSpec;
  /** What the host wrote to the container's stdin. */
  stdin: PassThrough;
  /** What the container writes to the host. */
  stdout: PassThrough;
  stderr: PassThrough;
  /** Bytes the host had written to stdin by the time it called `start`. */
  stdinBeforeStart: string;
  /** The process inside ends with `code` (what `wait` resolves with); later calls change nothing. */
  exit(code: number): void;
  /** Resolves with the exit code. */
  exited: Promise<number>;
}

/**
 * A ContainerRuntime whose containers are in-process pipes: `onStart` plays the process inside.
 * Only the calls AgentContainer makes, and `run`, do anything; the others answer as for an empty engine.
 */
export class PipeRuntime implements ContainerRuntime {
  readonly transport = "attach" as const;
  readonly containers: PipeContainer[] = [];
  /** Engine calls that end containers, in order: `stop pipe-1`, `kill pipe-2`, `remove pipe-2`. */
  readonly calls: string[] = [];
  readonly #exits = new Map<string, { promise: Promise<number>; resolve: (code: number) => void }>();

  constructor(private readonly onStart: (container: PipeContainer) => void) {}

  async version(): Promise<string> {
    return "pipe";
  }

  async create(spec: ContainerSpec): Promise<string> {
    const id = `pipe-${this.containers.length + 1}`;
    let resolve: (code: number) => void = () => {};
    const promise = new Promise<number>((r) => {
      resolve = r;
    });
    this.#exits.set(id, { promise, resolve });
    const stdin = new PassThrough();
    const container: PipeContainer = {
      id,
      spec,
      stdin,
      stdout: new PassThrough(),
      stderr: new PassThrough(),
      stdinBeforeStart: "",
      exit: (code) => resolve(code),
      exited: promise,
    };
    this.containers.push(container);
    return id;
  }

  async attach(id: string): Promise<AttachedStdio> {
    const c = this.#get(id);
    return { stdin: c.stdin, stdout: c.stdout, stderr: c.stderr, close: () => c.stdout.end() };
  }

  async start(id: string): Promise<void> {
    const c = this.#get(id);
    c.stdinBeforeStart = (c.stdin.read() as Buffer | null)?.toString() ?? "";
    if (c.stdinBeforeStart) c.stdin.unshift(Buffer.from(c.stdinBeforeStart));
    this.onStart(c);
  }

  wait(id: string): Promise<number> {
    return this.#exits.get(id)?.promise ?? Promise.resolve(-1);
  }

  /** Plays the container through `onStart`; its output is everything written before it exits. */
  async run(spec: ContainerSpec): Promise<RunResult> {
    const id = await this.create(spec);
    const c = this.#get(id);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    c.stdout.on("data", (d: Buffer) => out.push(d));
    c.stderr.on("data", (d: Buffer) => err.push(d));
    await this.start(id);
    const exitCode = await this.wait(id);
    c.stdout.end();
    c.stderr.end();
    await Promise.all([finished(c.stdout), finished(c.stderr)]);
    return { exitCode, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
  }

  async stop(id: string): Promise<void> {
    this.calls.push(`stop ${id}`);
    this.#get(id).exit(0);
  }

  async kill(id: string): Promise<void> {
    this.calls.push(`kill ${id}`);
    this.#get(id).exit(137);
  }

  async remove(id: string): Promise<void> {
    this.calls.push(`remove ${id}`);
    this.containers.find((x) => x.id === id)?.exit(137);
  }

  async inspect(): Promise<ContainerInfo | null> {
    return null;
  }

  async list(): Promise<ContainerInfo[]> {
    return [];
  }

  async removeImage(): Promise<void> {}

  async inspectImage(ref: string): Promise<ImageInfo | null> {
    return { id: `sha256:${ref}`, tags: [ref], labels: {} };
  }

  async imageExists(): Promise<boolean> {
    return true;
  }

  async bridgeGateway(): Promise<string | null> {
    return null;
  }

  async ensureNetwork(name: string, spec: NetworkSpec): Promise<NetworkInfo> {
    return { name, gateway: "127.0.0.1", internal: spec.internal };
  }

  async removeNetwork(): Promise<void> {}

  async containerAddress(id: string): Promise<string | null> {
    return this.containers.some((c) => c.id === id) ? "127.0.0.1" : null;
  }

  async buildImage(): Promise<void> {}

  async ensureVolume(): Promise<void> {}

  async removeVolume(): Promise<void> {}

  async listVolumes(): Promise<VolumeInfo[]> {
    return [];
  }

  #get(id: string): PipeContainer {
    const c = this.containers.find((x) => x.id === id);
    if (!c) throw new Error(`no container ${id}`);
    return c;
  }
}

/**
 * An `onStart` for {@link PipeRuntime} that runs the real runner inside each "container": the key
 * line, `ready`, then the runner's ServeLoop over the container's pipes, with the agent `agentFor`
 * gives (a fake agent: no pi, no model). The loop ending exits the container; a container killed
 * or stopped from outside writes nothing more, as a dead process would.
 */
export function runnerInPipes(
  agentFor: (container: PipeContainer) => RunnerAgent,
): (c: PipeContainer) => void {
  return (container) => {
    let dead = false;
    void container.exited.then(() => {
      dead = true;
    });
    void (async () => {
      const key = await readKeyLine(container.stdin);
      if (!key) {
        container.stderr.write("nestbox runner: the first input line must be the frame key; exiting\n");
        container.exit(2);
        return;
      }
      const writer = new FrameWriter(key, (chunk, callback) => {
        if (!dead && chunk !== "") container.stdout.write(chunk);
        callback?.();
      });
      writer.send({ type: "ready", version: "pipe" });
      const agent = agentFor(container);
      const loop = new ServeLoop({ input: container.stdin, key, writer, agent: Promise.resolve(agent) });
      void loop.closed.then((code) => container.exit(code));
      void container.exited.then(() => loop.shutdown(0));
      loop.start();
    })();
  };
}
