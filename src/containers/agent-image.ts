import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import type { Config } from "../config.js";
import { ContainerError } from "../errors.js";
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

/** The image label holding {@link agentSourcesHash}: which sources an agent image was built from. */
export const SOURCES_LABEL = "nestbox.sources";

/** The image's own files: the Dockerfile, the runner's sources and lockfile, the protocol it bundles. */
function agentSources(contextDir: string): Record<string, Buffer> {
  const files: Record<string, Buffer> = {};
  for (const f of ["Dockerfile", ".dockerignore"]) files[f] = readFileSync(path.join(contextDir, f));
  const runner = path.join(contextDir, "agent-runner");
  for (const f of ["package.json", "package-lock.json"])
    files[`agent-runner/${f}`] = readFileSync(path.join(runner, f));
  collect(path.join(runner, "src"), "agent-runner/src", files);
  collect(path.join(runner, "build"), "agent-runner/build", files);
  collect(path.join(contextDir, "..", "src", "protocol"), "protocol", files);
  return files;
}

/**
 * A sha256 over the image's own files (not the build CA or base image: those are the machine's, not
 * nestbox's version). An image whose label differs was built by another nestbox.
 */
export function agentSourcesHash(contextDir: string): string {
  const hash = createHash("sha256");
  const files = agentSources(contextDir);
  for (const name of Object.keys(files).sort())
    hash
      .update(`${name}\0`)
      .update(files[name] as Buffer)
      .update("\0");
  return hash.digest("hex");
}

/**
 * The build context: the Dockerfile, the runner's sources and lockfile, the protocol (src/protocol,
 * shared with the host, bundled into the runner by the build) and the extra CA for the build.
 */
export function agentBuildContext(
  contextDir: string,
  sandbox: SandboxEnvironment,
): Record<string, Buffer | string> {
  const ca = extraCaPem(sandbox);
  return { ...agentSources(contextDir), ...(ca ? { "build-ca/extra.pem": ca } : { "build-ca/.keep": "" }) };
}

const STEP = /^Step \d+\/\d+ : (\S+)/;

/** A build that failed before getting past FROM could not get its base image: say how to make one locally. */
function baseImageHint(err: unknown, base: string | null | undefined): ContainerError {
  const raw = (err as Error).message;
  return new ContainerError(
    "BASE_IMAGE_UNAVAILABLE",
    `the agent image's base image ${base ?? "(the Dockerfile's default, node:22-bookworm-slim)"} cannot be pulled ` +
      `(${raw}). Without a reachable registry, build a local one: bash scripts/make-base-image.sh nestbox-base:local, ` +
      "then set AGENT_BASE_IMAGE=nestbox-base:local (or npm run setup -- container --base nestbox-base:local)",
    { cause: err },
  );
}

/** The tag the image's build stage (`deps`: npm ci and the bundle) keeps, so it is never left dangling. */
export function depsTag(tag: string): string {
  return tag.lastIndexOf(":") > tag.lastIndexOf("/") ? `${tag}-deps` : `${tag}:latest-deps`;
}

/**
 * Builds the agent image through the engine API, with proxy build args, the extra CA trusted and the
 * sources hash as a label. A failure on the base image gets the registry-free hint. The build stage
 * is built first under {@link depsTag} (it stays the cache for the next build instead of an untagged
 * image), then the image; the images both tags pointed at before are removed when nothing uses them.
 */
export async function buildAgentImage(runtime: ContainerRuntime, build: AgentImageBuild): Promise<void> {
  const buildArgs = buildProxyArgs(build.sandbox.proxy);
  if (build.baseImage) buildArgs.BASE_IMAGE = build.baseImage;
  const files = agentBuildContext(build.contextDir, build.sandbox);
  const say = build.onProgress ?? (() => {});
  const stage = depsTag(build.tag);
  const before = { image: await runtime.inspectImage(build.tag), stage: await runtime.inspectImage(stage) };
  let step: string | null = null;
  const onProgress = (line: string) => {
    step = STEP.exec(line)?.[1]?.toUpperCase() ?? step;
    say(line);
  };
  try {
    await runtime.buildImage({ tag: stage, target: "deps", files, buildArgs, onProgress });
    await runtime.buildImage({
      tag: build.tag,
      files,
      buildArgs,
      labels: { [SOURCES_LABEL]: agentSourcesHash(build.contextDir) },
      onProgress,
    });
  } catch (err) {
    // The builder names each step before running it: a failure during FROM is the base image's pull.
    if (err instanceof ContainerError && step === "FROM") throw baseImageHint(err, build.baseImage);
    throw err;
  }
  if (before.image) await removePrevious(runtime, build.tag, before.image.id, say);
  if (before.stage) await removePrevious(runtime, stage, before.stage.id, say);
}

/**
 * Removes the image `tag` pointed at before a build, if the build moved the tag and left it untagged:
 * one another tag still names is not dangling (the engine would delete it by id), nor one a container uses.
 */
export async function removePrevious(
  runtime: ContainerRuntime,
  tag: string,
  previousId: string,
  progress: (line: string) => void,
): Promise<void> {
  if ((await runtime.inspectImage(tag))?.id === previousId) return;
  const previous = await runtime.inspectImage(previousId);
  if (!previous || previous.tags.length > 0) return;
  try {
    await runtime.removeImage(previousId, { force: false });
    progress(`Removed the previous ${tag} image ${previousId.slice(0, 19)}.`);
  } catch (err) {
    // A container, another tag or a child image still uses it: it is not dangling, so it stays.
    if (!(err instanceof ContainerError && err.code === "DOCKER_409")) throw err;
    progress(`Kept the previous ${tag} image ${previousId.slice(0, 19)}: still in use (${err.message}).`);
  }
}

/** Whether the agent image exists and was built from these sources. */
export type AgentImageState =
  | { state: "missing" }
  | { state: "stale"; id: string; built: string | null }
  | { state: "current"; id: string }
  /** The image exists but the sources to compare with (and rebuild from) are not there. */
  | { state: "unknown"; id: string };

/** Compares the image's sources label with the sources in `contextDir`. */
export async function agentImageState(
  runtime: ContainerRuntime,
  tag: string,
  contextDir: string,
): Promise<AgentImageState> {
  const info = await runtime.inspectImage(tag);
  if (!info) return { state: "missing" };
  if (!existsSync(path.join(contextDir, "Dockerfile"))) return { state: "unknown", id: info.id };
  const built = info.labels[SOURCES_LABEL] ?? null;
  return built === agentSourcesHash(contextDir)
    ? { state: "current", id: info.id }
    : { state: "stale", id: info.id, built };
}

/**
 * Builds the agent image when it is missing or stale (built from other sources), streaming progress;
 * {@link buildAgentImage} removes the image it replaces.
 */
export async function ensureAgentImage(
  runtime: ContainerRuntime,
  config: Config,
  sandbox: SandboxEnvironment,
  projectDir: string,
  progress: (line: string) => void,
): Promise<void> {
  const contextDir = path.join(projectDir, "container");
  const before = await agentImageState(runtime, config.agentImage, contextDir);
  // Without the sources (an install that ships none) the image in place is the one to use.
  if (before.state === "current" || before.state === "unknown") return;
  progress(
    before.state === "missing"
      ? `Agent image ${config.agentImage} is missing: building it (first start only)...`
      : `Agent image ${config.agentImage} is from an older nestbox; rebuilding...`,
  );
  await buildAgentImage(runtime, {
    contextDir,
    tag: config.agentImage,
    baseImage: config.agentBaseImage,
    sandbox,
    onProgress: progress,
  });
  progress(`Built ${config.agentImage}.`);
}
