import path from "node:path";
import { type CommandSpec, defineCommand, type ParseArgsOptionsConfig } from "../cli/args.js";
import { buildAgentImage } from "../containers/agent-image.js";
import { loadContext } from "../context.js";

const projectDir = path.resolve(import.meta.dirname, "..", "..");

const CONTAINER = {
  name: "setup container",
  usage: `Usage: npm run setup -- container [--base <image>] [--tag <image:tag>] [--json]

Builds the agent image through the Docker Engine API (proxy as build args, extra CA trusted).
  --base <image>     base image (default AGENT_BASE_IMAGE, else the Dockerfile's)
  --tag <image:tag>  the image to build (default AGENT_IMAGE)
  --json             one JSON object per line: start, progress, done
`,
  options: { base: { type: "string" }, tag: { type: "string" } },
  json: true,
} satisfies CommandSpec<ParseArgsOptionsConfig>;

/**
 * `setup container`: builds the agent image through the Docker Engine API, streaming progress,
 * with the proxy as build args and the extra CA trusted by the build's package installs.
 */
export const container = defineCommand(CONTAINER, async ({ values, json }, io) => {
  const { config, sandbox, docker } = loadContext(io);
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
});
