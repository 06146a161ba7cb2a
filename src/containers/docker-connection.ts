import { readFileSync } from "node:fs";
import path from "node:path";
import { ContainerError } from "../errors.js";

/** How to reach the Docker engine, as DOCKER_HOST and its companions describe it. */
export interface DockerEndpoint {
  /** DOCKER_HOST: `unix:///path`, `npipe:////./pipe/x`, `tcp://host:port`, `host:port` or `ssh://user@host`; unset: the default socket. */
  dockerHost?: string;
  /** DOCKER_TLS_VERIFY=1: talk TLS (also implied by port 2376). */
  tlsVerify?: boolean;
  /** DOCKER_CERT_PATH: the folder with `ca.pem`, `cert.pem` and `key.pem` for TLS. */
  certPath?: string;
  /** SSH_AUTH_SOCK: the ssh agent an `ssh://` engine is reached through. */
  sshAuthSock?: string;
}

/** The connection options docker-modem takes (every key set, so its own process.env defaults never leak in). */
export interface ModemOptions {
  socketPath: string | undefined;
  host: string | undefined;
  port: string | undefined;
  protocol: "http" | "https" | "ssh" | undefined;
  username: string | undefined;
  ca: Buffer | undefined;
  cert: Buffer | undefined;
  key: Buffer | undefined;
  sshOptions: { agent?: string } | undefined;
}

const NONE: ModemOptions = {
  socketPath: undefined,
  host: undefined,
  port: undefined,
  protocol: undefined,
  username: undefined,
  ca: undefined,
  cert: undefined,
  key: undefined,
  sshOptions: undefined,
};

/** The engine's variables from an environment (the one `.env` was merged into, not process.env). */
export function dockerEndpoint(env: Record<string, string | undefined>): DockerEndpoint {
  return {
    dockerHost: env.DOCKER_HOST?.trim() || undefined,
    tlsVerify: env.DOCKER_TLS_VERIFY === "1",
    certPath: env.DOCKER_CERT_PATH?.trim() || undefined,
    sshAuthSock: env.SSH_AUTH_SOCK?.trim() || undefined,
  };
}

/**
 * Turns DOCKER_HOST (and DOCKER_TLS_VERIFY, DOCKER_CERT_PATH, SSH_AUTH_SOCK) into docker-modem options,
 * by docker-modem's own rules (unix, npipe, tcp, TLS on 2376 or when verified, ssh) but from the values
 * given here rather than from process.env, so a `.env` file counts. Throws ContainerError on a DOCKER_HOST it cannot read.
 */
export function dockerConnection(
  e: DockerEndpoint,
  readFile: (file: string) => Buffer = (f) => readFileSync(f),
): ModemOptions {
  const host = e.dockerHost?.trim();
  if (!host) return { ...NONE, socketPath: "/var/run/docker.sock" };
  if (host.startsWith("unix://")) return { ...NONE, socketPath: host.slice(7) || "/var/run/docker.sock" };
  if (host.startsWith("npipe://")) return { ...NONE, socketPath: host.slice(8) || "//./pipe/docker_engine" };
  let url: URL;
  try {
    url = new URL(host.includes("//") ? host : `tcp://${host}`);
  } catch {
    throw new ContainerError(
      "DOCKER_HOST_INVALID",
      `DOCKER_HOST "${host}" is not an engine address: use e.g. tcp://host:2375 or unix:///var/run/docker.sock`,
    );
  }
  const options: ModemOptions = { ...NONE, host: url.hostname, port: url.port || undefined };
  if (e.tlsVerify || url.port === "2376") options.protocol = "https";
  else if (url.protocol === "ssh:") {
    options.protocol = "ssh";
    options.username = url.username || undefined;
    options.sshOptions = { agent: e.sshAuthSock };
  } else {
    options.protocol = "http";
    options.port = url.port || "2375";
  }
  if (e.certPath) {
    options.ca = readFile(path.join(e.certPath, "ca.pem"));
    options.cert = readFile(path.join(e.certPath, "cert.pem"));
    options.key = readFile(path.join(e.certPath, "key.pem"));
  }
  return options;
}

/**
 * Why the engine could not be reached, with the fix that applies: EACCES on the socket is a missing
 * docker group membership (starting Docker would not help); ENOENT/ECONNREFUSED mean no daemon there.
 */
export function dockerUnreachable(cause: unknown, endpoint: string): ContainerError {
  const code = (cause as { code?: string }).code;
  const raw = (cause as Error).message ?? String(cause);
  if (code === "EACCES" || code === "EPERM")
    return new ContainerError(
      "DOCKER_PERMISSION_DENIED",
      `permission denied on the Docker socket ${endpoint} (${raw}): add your user to the docker group ` +
        "(sudo usermod -aG docker $USER, then log in again), or set DOCKER_HOST to a daemon you may use",
      { cause },
    );
  return new ContainerError(
    "DOCKER_UNREACHABLE",
    `cannot reach the Docker engine at ${endpoint} (${raw}): start Docker, or set DOCKER_HOST`,
    { cause },
  );
}
