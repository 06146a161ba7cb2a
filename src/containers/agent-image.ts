import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import type { Config } from "../config.js";
import { buildProxyArgs, extraCaPem, type SandboxEnvironment } from "../sandbox/index.js";
import type { BuildProgress, ContainerRuntime } from "./container-runtime.js";

/** What to build the agent image from. */
export interface AgentImageBuild {
  /** The `container/` folder (Dockerfile and agent-runner/); the protocol is its sibling `../src/protocol`. */
  contextDir: string;
  tag: string;
  /** Overrides the Dockerfile's `BASE_IMAGE` (e.g. a local image made by scripts/make-base-image.sh). */
  baseImage?: string | null;
  sandbox: SandboxEnvironment;
  onProgress?: BuildProgress;
}

function collect(dir: string, prefix: string, out: Record<string, Buffer>): void {
  for (const name of readdirSync(dir)) {
    // Tests never go into the image; the runner's own node_modules is installed by the build.
    if (name === "node_modules" || name.endsWith(".test.ts")) continue;
    const full = path.join(dir, name);
    const rel = prefix ? `${prefix}/${name}` : name;
    if (statSync(full).isDirectory()) collect(full, rel, out);
    else out[rel] = readFileSync(full);
  }
}

/**
 * The build context: the Dockerfile, the runner's sources and lockfile, the protocol (src/protocol,
 * shared with the host, bundled into the runner by the build) and the extra CA for the build.
 */
export function agentBuildContext(
  contextDir: string,
  sandbox: SandboxEnvironment,
): Record<string, Buffer | string> {
  const files: Record<string, Buffer> = {};
  for (const f of ["Dockerfile", ".dockerignore"]) files[f] = readFileSync(path.join(contextDir, f));
  const runner = path.join(contextDir, "agent-runner");
  for (const f of ["package.json", "package-lock.json"])
    files[`agent-runner/${f}`] = readFileSync(path.join(runner, f));
  collect(path.join(runner, "src"), "agent-runner/src", files);
  collect(path.join(runner, "build"), "agent-runner/build", files);
  collect(path.join(contextDir, "..", "src", "protocol"), "protocol", files);
  const ca = extraCaPem(sandbox);
  return { ...files, ...(ca ? { "build-ca/extra.pem": ca } : { "build-ca/.keep": "" }) };
}

/** Builds the agent image through the engine API, with proxy build args and the extra CA trusted. */
export async function buildAgentImage(runtime: ContainerRuntime, build: AgentImageBuild): Promise<void> {
  const buildArgs = buildProxyArgs(build.sandbox.proxy);
  if (build.baseImage) buildArgs.BASE_IMAGE = build.baseImage;
  await runtime.buildImage({
    tag: build.tag,
    files: agentBuildContext(build.contextDir, build.sandbox),
    buildArgs,
    onProgress: build.onProgress,
  });
}

/** Builds the agent image when it is missing, streaming progress. */
export async function ensureAgentImage(
  runtime: ContainerRuntime,
  config: Config,
  sandbox: SandboxEnvironment,
  projectDir: string,
  progress: (line: string) => void,
): Promise<void> {
  if (await runtime.imageExists(config.agentImage)) return;
  progress(`Agent image ${config.agentImage} is missing: building it (first start only)...`);
  await buildAgentImage(runtime, {
    contextDir: path.join(projectDir, "container"),
    tag: config.agentImage,
    baseImage: config.agentBaseImage,
    sandbox,
    onProgress: progress,
  });
  progress(`Built ${config.agentImage}.`);
}
