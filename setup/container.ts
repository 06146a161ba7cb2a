import path from "node:path";
import { parseArgs } from "node:util";
import { loadConfig, readEnvironment } from "../src/config.js";
import { buildAgentImage } from "../src/containers/agent-image.js";
import { DockerRuntime } from "../src/containers/docker-runtime.js";
import { detectSandbox } from "../src/containers/sandbox/index.js";
import { UsageError } from "../src/errors.js";
import type { SetupStep } from "./cli.js";

const projectDir = path.resolve(import.meta.dirname, "..");

/**
 * `setup container`: builds the agent image through the Docker Engine API, streaming progress,
 * with the proxy as build args and the extra CA trusted by the build's package installs.
 */
export const container: SetupStep = async (argv, io, json) => {
  let values: { base?: string; tag?: string };
  try {
    ({ values } = parseArgs({ args: argv, options: { base: { type: "string" }, tag: { type: "string" } } }));
  } catch (err) {
    throw new UsageError(`${(err as Error).message}; "container" takes --base <image> and --tag <image:tag>`);
  }
  const env = readEnvironment(io.env, io.cwd);
  const config = loadConfig(env, io.cwd);
  const sandbox = detectSandbox({ env });
  const docker = new DockerRuntime({ dockerHost: sandbox.dockerHost ?? undefined });
  const version = await docker.version();
  const tag = values.tag ?? config.agentImage;
  const base = values.base ?? config.agentBaseImage;
  const say = (event: Record<string, unknown>, human: string) =>
    io.stdout.write(json ? `${JSON.stringify(event)}\n` : `${human}\n`);
  say(
    {
      event: "start",
      tag,
      base: base ?? "(Dockerfile default)",
      docker: version,
      caForwarded: sandbox.caFiles.length > 0,
    },
    `Building ${tag} from ${base ?? "the Dockerfile's default base"} (Docker ${version})` +
      (sandbox.caFiles.length > 0
        ? `, trusting ${sandbox.caCertificates.length} CA certificate(s) from ${sandbox.caFiles.length} file(s)`
        : ""),
  );
  const started = Date.now();
  await buildAgentImage(docker, {
    contextDir: path.join(projectDir, "container"),
    tag,
    baseImage: base,
    sandbox,
    onProgress: (line) => say({ event: "progress", line }, `  ${line}`),
  });
  say(
    { event: "done", tag, seconds: (Date.now() - started) / 1000 },
    `Built ${tag} in ${((Date.now() - started) / 1000).toFixed(1)} s.`,
  );
  return 0;
};
