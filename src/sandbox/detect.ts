import { existsSync, readdirSync, readFileSync } from "node:fs";
import { hostname } from "node:os";
import path from "node:path";

/** Proxy settings as the environment gives them (lowercase wins where both cases differ, as curl does). */
export interface ProxySettings {
  httpProxy: string | null;
  httpsProxy: string | null;
  noProxy: string[];
}

/** What nestbox learnt about the machine it runs on, once, at startup. */
export interface SandboxEnvironment {
  proxy: ProxySettings;
  /** Files holding extra CA certificates to forward (NODE_EXTRA_CA_CERTS, SSL_CERT_FILE, SSL_CERT_DIR). */
  caFiles: string[];
  /** The PEM certificates in those files, deduplicated, read once at detection. */
  caCertificates: string[];
  /** DOCKER_HOST, or null for the default socket. */
  dockerHost: string | null;
  /** The id (full or the 12-char prefix) of the container nestbox itself runs in, or null. */
  ownContainerId: string | null;
}

/**
 * What detection reads; injected so tests describe a machine without being on it. `env` is the merged
 * environment (with `.env`) that the config came from; NESTBOX_HOST_DATA_DIR is the config's, not read here.
 */
export interface DetectionSources {
  env: Record<string, string | undefined>;
  readFile?: (path: string) => string | null;
  /** Lists the certificate bundles in a directory (SSL_CERT_DIR). */
  listDir?: (path: string) => string[];
  hostname?: () => string;
}

const readIfExists = (p: string): string | null => {
  try {
    return existsSync(p) ? readFileSync(p, "utf8") : null;
  } catch {
    return null;
  }
};

const PEM = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** `*.pem` and `*.crt` files of a directory (hashed symlink names are skipped: they repeat the files). */
function listBundles(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => /\.(pem|crt)$/.test(f))
      .map((f) => path.join(dir, f));
  } catch {
    return [];
  }
}

function pick(env: Record<string, string | undefined>, name: string): string | null {
  const lower = env[name.toLowerCase()]?.trim();
  const upper = env[name.toUpperCase()]?.trim();
  return lower || upper || null;
}

/** The proxy variables, normalised; `NO_PROXY` split into entries. */
export function readProxy(env: Record<string, string | undefined>): ProxySettings {
  const noProxy = (pick(env, "no_proxy") ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  return { httpProxy: pick(env, "http_proxy"), httpsProxy: pick(env, "https_proxy"), noProxy };
}

const ID64 = /[0-9a-f]{64}/;

/** Finds the container this process runs in from cgroup, mountinfo and hostname; null on a plain host. */
export function detectOwnContainer(read: (p: string) => string | null, host: string): string | null {
  const cgroup = read("/proc/self/cgroup") ?? "";
  for (const line of cgroup.split("\n")) {
    const m = /(?:docker[-/]|libpod[-/]|containerd[-/]|\/kubepods[^\n]*\/)([0-9a-f]{64})/.exec(line);
    if (m?.[1]) return m[1];
  }
  const mountinfo = read("/proc/self/mountinfo") ?? "";
  const m = /\/(?:docker\/)?containers\/([0-9a-f]{64})\/(?:hostname|resolv\.conf|hosts)/.exec(mountinfo);
  if (m?.[1]) return m[1];
  if (read("/.dockerenv") !== null && /^[0-9a-f]{12}$/.test(host)) return host;
  if (ID64.test(host)) return host;
  return null;
}

/** Reads the environment and the filesystem once; every consumer takes this answer. */
export function detectSandbox(sources: DetectionSources): SandboxEnvironment {
  const { env } = sources;
  const read = sources.readFile ?? readIfExists;
  const list = sources.listDir ?? listBundles;
  const dirs = (env.SSL_CERT_DIR ?? "")
    .split(":")
    .map((d) => d.trim())
    .filter(Boolean);
  const caFiles: string[] = [];
  const certificates = new Set<string>();
  for (const file of [env.NODE_EXTRA_CA_CERTS, env.SSL_CERT_FILE, ...dirs.flatMap((d) => list(d))]) {
    const f = file?.trim();
    if (!f || caFiles.includes(f)) continue;
    const text = read(f);
    if (text === null) continue;
    caFiles.push(f);
    for (const pem of text.match(PEM) ?? []) certificates.add(pem.trim());
  }
  return {
    proxy: readProxy(env),
    caFiles,
    caCertificates: [...certificates],
    dockerHost: env.DOCKER_HOST?.trim() || null,
    ownContainerId: detectOwnContainer(read, (sources.hostname ?? hostname)()),
  };
}
