import { cpSync, existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import type { Config, ModelConfig } from "../config.js";
import { buildAgentImage } from "../containers/agent-image.js";
import type { ContainerRuntime } from "../containers/runtime.js";
import { type CaFiles, type SandboxEnvironment, writeCaFiles } from "../containers/sandbox/index.js";
import { ConfigError } from "../errors.js";
import type { Logger } from "../log.js";
import { CredentialProxy } from "./credential-proxy.js";

/** The host name agent containers use for the host (mapped to the bridge gateway). */
export const GATEWAY_NAME = "host.docker.internal";

/** The model settings, or a ConfigError naming exactly which variables to set. */
export function requireModel(config: Config): ModelConfig {
  if (config.model) return config.model;
  throw new ConfigError([
    "no model is configured. Set MODEL and one provider:",
    "  OpenAI-compatible server (Ollama, vLLM, llama.cpp): OPENAI_BASE_URL=http://host:port/v1 MODEL=<name>",
    "  OpenAI: OPENAI_API_KEY=sk-... MODEL=gpt-4o-mini",
    "  Anthropic: ANTHROPIC_API_KEY=sk-ant-... MODEL=claude-sonnet-4-5",
  ]);
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

/** Copies the project's skills into `data/skills/`, so every mount source lives under `data/`. */
export function syncSkills(projectDir: string, dataDir: string): void {
  const from = path.join(projectDir, "skills");
  const to = path.join(dataDir, "skills");
  mkdirSync(to, { recursive: true });
  if (existsSync(from)) cpSync(from, to, { recursive: true, force: true });
}

/** What the agent side needs from the host: CA files, the credential proxy and where agents reach it. */
export interface AgentPlumbing {
  ca: CaFiles | null;
  proxy: CredentialProxy;
  gateway: { name: string; address: string };
  modelBaseUrl: string;
}

/** Writes the CA files and starts the credential proxy on the bridge gateway (loopback as a fallback). */
export async function startAgentPlumbing(
  runtime: ContainerRuntime,
  config: Config,
  model: ModelConfig,
  sandbox: SandboxEnvironment,
  log: Logger,
): Promise<AgentPlumbing> {
  const ca = writeCaFiles(sandbox, config.dataDir);
  const address = (await runtime.bridgeGateway()) ?? "127.0.0.1";
  const limits = { maxBodyBytes: config.credentialProxy.maxBodyBytes };
  let proxy = new CredentialProxy({ model, proxy: sandbox.proxy, log, host: address, limits });
  try {
    await proxy.listen();
  } catch (err) {
    log.warn(
      { err, address },
      "cannot listen on the bridge gateway; the credential proxy listens on all interfaces",
    );
    proxy = new CredentialProxy({ model, proxy: sandbox.proxy, log, host: "0.0.0.0", limits });
    await proxy.listen();
  }
  return {
    ca,
    proxy,
    gateway: { name: GATEWAY_NAME, address },
    modelBaseUrl: `http://${GATEWAY_NAME}:${proxy.port}${CredentialProxy.pathPrefix}`,
  };
}

export { agentUser } from "./agent-user.js";
