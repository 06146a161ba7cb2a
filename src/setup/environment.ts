import { randomBytes } from "node:crypto";
import http from "node:http";
import https from "node:https";
import { CredentialProxy } from "../agents/credential-proxy.js";
import { GATEWAY_NAME } from "../agents/plumbing.js";
import { type CommandSpec, defineCommand, type ParseArgsOptionsConfig } from "../cli/args.js";
import type { Config } from "../config.js";
import type { ContainerRuntime, NetworkInfo } from "../containers/container-runtime.js";
import { probeDataVisibility, probeServices } from "../containers/probe.js";
import { loadContext } from "../context.js";
import { silentLogger } from "../log.js";
import {
  agentFor,
  agentProxyEnv,
  type HostGateway,
  type SandboxEnvironment,
  writeCaFiles,
} from "../sandbox/index.js";

interface Probe {
  path: string;
  ok: boolean;
  detail: string;
}

/** One HTTP GET from this process (through the configured proxy); any HTTP answer proves the path. */
function hostGet(
  url: string,
  sandbox: SandboxEnvironment,
  headers: Record<string, string> = {},
): Promise<string> {
  const u = new URL(url);
  const client = u.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.get(u, { agent: agentFor(u, sandbox.proxy), headers, timeout: 15_000 }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () =>
        res.statusCode === 502 ? reject(new Error(body.slice(0, 300))) : resolve(`HTTP ${res.statusCode}`),
      );
    });
    req.on("timeout", () => req.destroy(new Error("timed out after 15 s")));
    req.on("error", reject);
  });
}

const FETCH_SCRIPT = `
const u = await import("/opt/nestbox/agent-runner/node_modules/undici/index.js");
if (process.env.HTTPS_PROXY || process.env.HTTP_PROXY) u.setGlobalDispatcher(new u.EnvHttpProxyAgent());
const [url, token] = process.argv.slice(1);
try {
  const r = await u.fetch(url, { headers: token ? { authorization: "Bearer " + token, "x-api-key": token } : {} });
  const body = await r.text();
  if (r.status === 502) { console.log("FAIL " + body.slice(0, 300)); process.exit(1); }
  console.log("HTTP " + r.status);
} catch (e) { console.log("FAIL " + (e.cause?.code ?? "") + " " + e.message); process.exit(1); }
`;

/** The same GET from inside a throwaway agent container, with the env and CA an agent gets. */
async function containerGet(
  docker: ContainerRuntime,
  image: string,
  env: Record<string, string>,
  gateway: HostGateway,
  caDir: string | null,
  network: string | undefined,
  url: string,
  token = "",
): Promise<string> {
  const { stdout } = await docker.run({
    name: `nestbox-egress-${randomBytes(4).toString("hex")}`,
    image,
    labels: { "nestbox.probe": "1" },
    env,
    entrypoint: ["node", "--input-type=module", "-e", FETCH_SCRIPT, url, token],
    mounts: caDir ? [{ hostPath: caDir, containerPath: "/workspace/ca", readOnly: true }] : [],
    extraHosts: [`${gateway.name}:${gateway.address}`],
    network,
    capDrop: ["ALL"],
    securityOpt: ["no-new-privileges"],
  });
  if (!stdout.startsWith("HTTP ")) throw new Error(stdout.replace(/^FAIL /, "").trim() || "no answer");
  return stdout.trim();
}

async function attempt(path: string, fn: () => Promise<string>): Promise<Probe> {
  const started = Date.now();
  try {
    return { path, ok: true, detail: `${await fn()} in ${Date.now() - started} ms` };
  } catch (err) {
    return { path, ok: false, detail: (err as Error).message };
  }
}

/** AGENT_RUNTIME in a line: the local engine, or the swarm with its placement and volume driver. */
function runtimeSummary(config: Config): string {
  const r = config.cluster.runtime;
  if (r.kind === "local") return "local Docker engine (attached stdio)";
  const placement = r.placement.length > 0 ? r.placement.join(",") : "any node";
  const host = r.hostAddress ?? `the subnet's gateway (${r.subnet}, one node)`;
  return `Docker Swarm services, dialing home to ${host}; placement ${placement}; chat volumes: ${r.volumeDriver.name} driver`;
}

/** One real one-shot service of the agent image on the swarm: the manager answers, a node runs it, its output comes back. */
function swarmProbe(agents: ContainerRuntime, config: Config): Promise<Probe> {
  return attempt("swarm service", async () => {
    await agents.version(); // says `docker swarm init` when this engine is not a swarm manager
    await probeServices(agents, config.agentImage);
    return "a one-shot service of the agent image ran and answered";
  });
}

function caSummary(sandbox: SandboxEnvironment, env: Record<string, string | undefined>): string {
  if (sandbox.caFiles.length === 0) return "none";
  const sources = ["NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE", "SSL_CERT_DIR"]
    .filter((k) => env[k])
    .map((k) => `${k}=${env[k]}`);
  const count = sandbox.caCertificates.length;
  return `${sources.join(" ")}: ${count} certificates in ${sandbox.caFiles.length} file(s), forwarded via data/ca/`;
}

/** What the egress probes run with. */
interface EgressContext {
  docker: ContainerRuntime;
  config: Config;
  sandbox: SandboxEnvironment;
  imageReady: boolean;
  network: NetworkInfo | null;
  address: string;
}

/** The model path through a real credential proxy on `address`, from the host and (image ready) a container. */
async function modelProbes(
  c: EgressContext,
  agentEnv: Record<string, string>,
  gateway: HostGateway,
  caDir: string | null,
): Promise<Probe[]> {
  const { docker, config, sandbox, imageReady, network, address } = c;
  const probes: Probe[] = [];
  if (!config.model)
    return [
      {
        path: "model",
        ok: false,
        detail: "no model configured: set MODEL and a provider (see .env.example)",
      },
    ];
  const proxy = new CredentialProxy({
    model: config.model,
    proxy: sandbox.proxy,
    log: silentLogger(),
    host: address,
    // A diagnosis reports the path as it is now: no riding out of outages (that takes minutes).
    retry: { windowMs: 0 },
  });
  const listening = await proxy.listen().then(
    () => null,
    (err: unknown) => err as Error,
  );
  if (listening) {
    await proxy.close().catch(() => {});
    probes.push({
      path: `model ${config.model.baseUrl} (host -> credential proxy)`,
      ok: false,
      detail: `the credential proxy cannot listen on ${address}: ${listening.message}; is that address one of this machine's (the agents' network gateway), and the port free?`,
    });
    return probes;
  }
  const token = proxy.issueToken("setup:environment");
  // The probes come from the host and from a throwaway container: no single address to bind to.
  proxy.bindToken(token, null);
  const modelsPath = config.model.provider === "openai" ? "/models" : "/v1/models";
  probes.push(
    await attempt(`model ${config.model.baseUrl} (host -> credential proxy)`, () =>
      hostGet(`http://${address}:${proxy.port}${CredentialProxy.pathPrefix}${modelsPath}`, sandbox, {
        authorization: `Bearer ${token}`,
        "x-api-key": token,
      }),
    ),
  );
  if (imageReady) {
    probes.push(
      await attempt(`model ${config.model.baseUrl} (agent container -> credential proxy)`, () =>
        containerGet(
          docker,
          config.agentImage,
          agentEnv,
          gateway,
          caDir,
          network?.name,
          `http://${GATEWAY_NAME}:${proxy.port}${CredentialProxy.pathPrefix}${modelsPath}`,
          token,
        ),
      ),
    );
  }
  await proxy.close();
  return probes;
}

/** The model and Telegram paths, from the host and from a container on `network` (exported for tests). */
export async function egressProbes(c: EgressContext): Promise<Probe[]> {
  const { docker, config, sandbox, imageReady, network, address } = c;
  const probes: Probe[] = [];
  const gateway = { name: GATEWAY_NAME, address };
  const ca = writeCaFiles(sandbox, config.dataDir);
  const agentEnv: Record<string, string> = { ...agentProxyEnv(sandbox.proxy, gateway) };
  if (ca)
    Object.assign(agentEnv, {
      NODE_EXTRA_CA_CERTS: "/workspace/ca/extra.pem",
      SSL_CERT_FILE: "/workspace/ca/bundle.pem",
    });
  probes.push(...(await modelProbes(c, agentEnv, gateway, ca?.dir ?? null)));
  const telegramRoot = config.telegram?.apiRoot ?? "";
  if (telegramRoot)
    probes.push(await attempt(`Telegram API ${telegramRoot} (host)`, () => hostGet(telegramRoot, sandbox)));
  const get = () =>
    containerGet(docker, config.agentImage, agentEnv, gateway, ca?.dir ?? null, network?.name, telegramRoot);
  if (telegramRoot && imageReady && config.agentNetwork === "open")
    probes.push(await attempt(`Telegram API ${telegramRoot} (agent container)`, get));
  if (telegramRoot && imageReady && config.agentNetwork === "internal") {
    // AGENT_NETWORK=internal promises no egress: here a failure is the pass.
    const reached = await attempt("", get);
    probes.push({
      path: "no egress from an agent container (AGENT_NETWORK=internal)",
      ok: !reached.ok,
      detail: reached.ok ? `${telegramRoot} answered (${reached.detail})` : `blocked (${reached.detail})`,
    });
  }
  return probes;
}

const ENVIRONMENT = {
  name: "setup environment",
  usage: `Usage: npm run setup -- environment [--json]

Prints the detected proxy, NO_PROXY, CA files, Docker endpoint and version, own container and data
mapping; tests each egress path once from the host and from an agent container. Exits 1 when one fails.
`,
  options: {},
  json: true,
} satisfies CommandSpec<ParseArgsOptionsConfig>;

/** `setup environment`: what was detected, and each egress path tested once (host and container). */
export const environment = defineCommand(ENVIRONMENT, async ({ json }, io) => {
  const { env, config, sandbox, docker, agents } = loadContext(io);
  const detected = {
    proxy: sandbox.proxy,
    caFiles: sandbox.caFiles,
    extraCertificates: sandbox.caCertificates.length,
    dockerEndpoint: sandbox.dockerHost ?? "unix:///var/run/docker.sock",
    dockerVersion: null as string | null,
    ownContainer: sandbox.ownContainerId,
    dataDir: config.dataDir,
    hostDataDir: config.hostDataDir,
    agentNetwork: { mode: config.agentNetwork, name: null as string | null, gateway: null as string | null },
  };
  const probes: Probe[] = [];
  try {
    detected.dockerVersion = await docker.version();
  } catch (err) {
    probes.push({ path: "docker", ok: false, detail: (err as Error).message });
  }
  const imageReady = detected.dockerVersion !== null && (await docker.imageExists(config.agentImage));
  if (detected.dockerVersion && !imageReady) {
    probes.push({
      path: "agent image",
      ok: false,
      detail: `${config.agentImage} is missing: run npm run setup -- container`,
    });
  }
  if (imageReady) {
    probes.push(
      await attempt("data/ visible to the daemon", async () => {
        await probeDataVisibility(docker, {
          image: config.agentImage,
          dataDir: config.dataDir,
          hostDataDir: config.hostDataDir,
          where: sandbox,
        });
        return "ok";
      }),
    );
  }
  if (imageReady && config.cluster.runtime.kind === "swarm") probes.push(await swarmProbe(agents, config));
  // A throwaway network like the agents' own (same mode, inter-container traffic off), in the same daemon.
  let network: NetworkInfo | null = null;
  if (detected.dockerVersion) {
    const name = `nestbox-env-${randomBytes(4).toString("hex")}`;
    try {
      network = await docker.ensureNetwork(name, {
        internal: config.agentNetwork === "internal",
        labels: { "nestbox.probe": "1" },
      });
      detected.agentNetwork = { mode: config.agentNetwork, name, gateway: network.gateway };
    } catch (err) {
      probes.push({ path: "agents' network", ok: false, detail: (err as Error).message });
    }
  }
  const address = network?.gateway ?? "127.0.0.1";
  try {
    probes.push(...(await egressProbes({ docker, config, sandbox, imageReady, network, address })));
  } finally {
    if (network) await docker.removeNetwork(network.name).catch(() => {});
  }
  const ok = probes.every((p) => p.ok);
  if (json) {
    io.stdout.write(`${JSON.stringify({ ok, detected, probes })}\n`);
    return ok ? 0 : 1;
  }
  const p = sandbox.proxy;
  const lines = [
    `Proxy:          ${p.httpsProxy || p.httpProxy ? `HTTPS_PROXY=${p.httpsProxy ?? "-"} HTTP_PROXY=${p.httpProxy ?? "-"}` : "none"}`,
    `NO_PROXY:       ${p.noProxy.join(",") || "-"} (agents also get ${GATEWAY_NAME},${address})`,
    `CA files:       ${caSummary(sandbox, env)}`,
    `Docker:         ${detected.dockerEndpoint}${detected.dockerVersion ? `, engine ${detected.dockerVersion}` : " (unreachable)"}`,
    `Agents run on:  ${runtimeSummary(config)}`,
    `Agents' network: ${config.agentNetwork}${detected.agentNetwork.name ? ` (tested on ${detected.agentNetwork.name}, gateway ${address})` : ""}`,
    `Own container:  ${sandbox.ownContainerId ?? "none (not running in a container)"}`,
    `Data folder:    ${config.dataDir}${config.hostDataDir ? ` (the daemon sees ${config.hostDataDir})` : " (same path for the daemon)"}`,
    "Checks:",
    ...probes.map((x) => `  ${x.ok ? "ok  " : "FAIL"} ${x.path}: ${x.detail}`),
  ];
  io.stdout.write(`${lines.join("\n")}\n`);
  return ok ? 0 : 1;
});
