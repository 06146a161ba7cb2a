import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { ProxySettings, SandboxEnvironment } from "./detect.js";

/** The host as agent containers reach it. */
export interface HostGateway {
  name: string;
  address: string;
}

/**
 * The six proxy variables for an agent container. `NO_PROXY` always includes the host gateway
 * name and address (and loopback), so model calls reach the credential proxy directly.
 */
export function agentProxyEnv(proxy: ProxySettings, gateway: HostGateway): Record<string, string> {
  if (!proxy.httpProxy && !proxy.httpsProxy) return {};
  const noProxy = [
    ...new Set([...proxy.noProxy, gateway.name, gateway.address, "localhost", "127.0.0.1"]),
  ].join(",");
  const env: Record<string, string> = { NO_PROXY: noProxy, no_proxy: noProxy };
  if (proxy.httpProxy) Object.assign(env, { HTTP_PROXY: proxy.httpProxy, http_proxy: proxy.httpProxy });
  if (proxy.httpsProxy) Object.assign(env, { HTTPS_PROXY: proxy.httpsProxy, https_proxy: proxy.httpsProxy });
  return env;
}

/** Proxy variables as Docker build args (predefined args: not persisted in the image). */
export function buildProxyArgs(proxy: ProxySettings): Record<string, string> {
  const args: Record<string, string> = {};
  if (proxy.httpProxy) Object.assign(args, { HTTP_PROXY: proxy.httpProxy, http_proxy: proxy.httpProxy });
  if (proxy.httpsProxy) Object.assign(args, { HTTPS_PROXY: proxy.httpsProxy, https_proxy: proxy.httpsProxy });
  if (proxy.noProxy.length > 0) {
    const v = proxy.noProxy.join(",");
    Object.assign(args, { NO_PROXY: v, no_proxy: v });
  }
  return args;
}

const PEM = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Every PEM certificate in the sandbox's CA files, deduplicated, as one bundle (empty when none). */
export function extraCaPem(sandbox: SandboxEnvironment): string {
  return sandbox.caCertificates.length > 0 ? `${sandbox.caCertificates.join("\n")}\n` : "";
}

/** Where the forwarded CA files are, on the host and inside agent containers. */
export interface CaFiles {
  dir: string;
  /** Extra CAs only: for NODE_EXTRA_CA_CERTS. */
  extraFile: string;
  /** System roots plus extras: for SSL_CERT_FILE (curl, Python, git). */
  bundleFile: string;
}

const SYSTEM_BUNDLES = [
  "/etc/ssl/certs/ca-certificates.crt",
  "/etc/pki/tls/certs/ca-bundle.crt",
  "/etc/ssl/cert.pem",
];

/**
 * Copies the extra CAs into `data/ca/` (a sandbox cannot bind-mount arbitrary host paths), with a
 * full bundle beside them. Returns null when there is nothing to forward.
 */
export function writeCaFiles(sandbox: SandboxEnvironment, dataDir: string): CaFiles | null {
  const extra = extraCaPem(sandbox);
  if (!extra) return null;
  const dir = path.join(dataDir, "ca");
  mkdirSync(dir, { recursive: true });
  let system = "";
  for (const f of SYSTEM_BUNDLES) {
    try {
      system = readFileSync(f, "utf8");
      break;
    } catch {}
  }
  const systemCerts = new Set((system.match(PEM) ?? []).map((c) => c.trim()));
  const missing = sandbox.caCertificates.filter((c) => !systemCerts.has(c));
  const extraFile = path.join(dir, "extra.pem");
  const bundleFile = path.join(dir, "bundle.pem");
  writeFileSync(extraFile, extra);
  writeFileSync(bundleFile, `${system.trimEnd()}\n${missing.join("\n")}\n`);
  return { dir, extraFile, bundleFile };
}

/** Translates a path under `data/` to the daemon's view (NESTBOX_HOST_DATA_DIR), unchanged otherwise. */
export function daemonPath(localPath: string, dataDir: string, hostDataDir: string | null): string {
  if (!hostDataDir) return localPath;
  const rel = path.relative(dataDir, localPath);
  if (rel.startsWith("..") || path.isAbsolute(rel)) return localPath;
  return path.posix.join(hostDataDir, rel.split(path.sep).join("/"));
}
