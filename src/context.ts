import type { DestinationStream } from "pino";
import type { CommandIO } from "./cli/io.js";
import { type Config, loadConfig, readEnvironment } from "./config.js";
import { createAgentRuntime } from "./containers/agent-runtimes.js";
import type { ContainerRuntime } from "./containers/container-runtime.js";
import { dockerEndpoint } from "./containers/docker-connection.js";
import { DockerRuntime } from "./containers/docker-runtime.js";
import { chooseLogFormat, createLogger, type Logger } from "./log.js";
import { type DetectionSources, detectSandbox, type SandboxEnvironment } from "./sandbox/index.js";
import { logFileFor, RotatingFile } from "./service/log-file.js";

/** What every command starts from: the environment (with `.env`), its validated config, the sandbox, Docker, a logger. */
export interface Context {
  /** The process environment with `.env` filled in beneath it; the only environment anything reads. */
  env: Record<string, string | undefined>;
  config: Config;
  sandbox: SandboxEnvironment;
  /** A client for the Docker engine; constructed only, nothing is asked of the daemon yet. */
  docker: DockerRuntime;
  /** Where agents run (AGENT_RUNTIME): `docker` itself, or the swarm it manages; constructed only. */
  agents: ContainerRuntime;
  log: Logger;
  /** The rotated file log lines also go to (NESTBOX_LOG_FILE, or data/logs/nestbox.log as a service); else null. */
  logFile: string | null;
}

/** How {@link loadContext} reads the machine; the defaults are the real ones. */
export interface ContextOptions {
  /** Output goes to a person at a terminal: logs default to warnings so they do not interleave with the chat. */
  interactive?: boolean;
  /** Replaces sandbox detection's file and hostname reads (tests describe a machine without being on it). */
  detection?: Omit<DetectionSources, "env">;
  /** Where log lines go (stderr by default). */
  logDestination?: DestinationStream;
  /** Running as a service (`start --no-terminal`): logs also go to data/logs/nestbox.log unless NESTBOX_LOG_FILE says where. */
  service?: boolean;
}

/**
 * Builds a command's context: `.env` merged once, before anything reads the environment, then
 * config, sandbox detection and logger all from that one merged environment. No network call.
 */
export function loadContext(io: CommandIO, options: ContextOptions = {}): Context {
  const env = readEnvironment(io.env, io.cwd);
  const config = loadConfig(env, io.cwd);
  const sandbox = detectSandbox({ ...options.detection, env });
  const asked = (env.LOG_LEVEL ?? "").trim() !== "";
  const level = options.interactive === true && !asked ? "warn" : config.logLevel;
  const stderrIsTTY = (io.stderr as { isTTY?: boolean }).isTTY === true;
  const logFile = logFileFor(config, options.service === true);
  const log = createLogger({
    level,
    format: chooseLogFormat(config.logFormat, stderrIsTTY),
    ...(options.logDestination ? { destination: options.logDestination } : {}),
    // JSON lines to the file, at the configured level even when a terminal shows only warnings.
    ...(logFile ? { also: { stream: new RotatingFile({ file: logFile }), level: config.logLevel } } : {}),
  });
  const docker = new DockerRuntime(dockerEndpoint(env));
  return { env, config, sandbox, docker, agents: createAgentRuntime(config, docker), log, logFile };
}
