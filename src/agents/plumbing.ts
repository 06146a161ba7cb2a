import { networkInterfaces } from "node:os";
import { inSubnet, subnetGateway } from "../cluster-config.js";
import type { Config, ModelConfig } from "../config.js";
import { agentNetworkName, LABELS } from "../containers/agent-spec.js";
import type { ContainerRuntime, NetworkInfo } from "../containers/container-runtime.js";
import { ConfigError, ContainerError } from "../errors.js";
import type { Logger } from "../log.js";
import { type CaFiles, type SandboxEnvironment, writeCaFiles } from "../sandbox/index.js";
import { CredentialProxy, type ProxyLimits } from "./credential-proxy.js";
import { DialServer } from "./transport/dial/server.js";

/** The host name agent containers use for the host (mapped to the agents' network gateway). */
export const GATEWAY_NAME = "host.docker.internal";

/** Creates (or reuses) the install's agents' network: bridge, inter-container traffic off, labelled. */
export async function ensureAgentNetwork(
  runtime: ContainerRuntime,
  installId: string,
  mode: Config["agentNetwork"],
  /** The network's subnet when the runtime needs one chosen (a swarm's bridge has no address until a task joins). */
  subnet?: string,
): Promise<NetworkInfo> {
  const name = agentNetworkName(installId);
  try {
    return await runtime.ensureNetwork(name, {
      internal: mode === "internal",
      labels: { [LABELS.install]: installId },
      ...(subnet ? { subnet } : {}),
    });
  } catch (err) {
    if (!(err instanceof ContainerError) || err.code !== "DOCKER_NETWORK_IN_USE") throw err;
    // The mode changed while containers of a previous run still sit on the old network.
    throw new ContainerError(
      "AGENT_NETWORK_IN_USE",
      `the agents' network ${name} must be re-created for AGENT_NETWORK=${mode}, but containers of a previous ` +
        `run still use it: remove them (docker rm -f $(docker ps -aq --filter label=${LABELS.install}=${installId})) and start again`,
      { cause: err },
    );
  }
}

/** What the agent side needs from the host: CA files, the credential proxy and where agents reach it. */
export interface AgentPlumbing {
  ca: CaFiles | null;
  proxy: CredentialProxy;
  /** The agents' network; `gateway.address` is the host's address on it. */
  network: string;
  gateway: { name: string; address: string };
  modelBaseUrl: string;
  /** Where agents that dial home connect (runtimes without attach); null when agents are attached. */
  dial: DialServer | null;
  /**
   * Whether the proxy listens on the network's gateway, so it sees each agent by its own address there
   * and tokens can be bound to it (not in the all-interfaces fallback, where the source may be translated).
   */
  bindsAddresses: boolean;
}

/**
 * Writes the CA files, ensures the agents' network and starts the credential proxy on that network's
 * gateway (all interfaces as a fallback, when that address is not this machine's).
 */
export async function startAgentPlumbing(
  runtime: ContainerRuntime,
  config: Config,
  model: ModelConfig,
  sandbox: SandboxEnvironment,
  log: Logger,
  installId: string,
  /** Caps beyond the configured ones (the benchmark raises the rate). */
  proxyLimits: Partial<ProxyLimits> = {},
): Promise<AgentPlumbing> {
  const ca = writeCaFiles(sandbox, config.dataDir);
  const swarm = config.cluster.runtime.kind === "swarm" ? config.cluster.runtime : null;
  if (swarm) checkSubnetFree(swarm.subnet);
  const network = await ensureAgentNetwork(runtime, installId, config.agentNetwork, swarm?.subnet);
  const limits = { ...proxyLimits, maxBodyBytes: config.credentialProxy.maxBodyBytes };
  const port = config.cluster.proxyPort;
  const { retryWindowMs: windowMs, stallTimeoutMs: stallMs } = config.credentialProxy;
  const retry = { windowMs, stallMs };
  const newProxy = (host: string) =>
    new CredentialProxy({ model, proxy: sandbox.proxy, log, host, port, limits, retry });
  if (swarm) return startSwarmPlumbing(config, swarm, network, ca, log, newProxy);
  const address = network.gateway ?? "127.0.0.1";
  let proxy = newProxy(address);
  let bindsAddresses = network.gateway !== null;
  try {
    await proxy.listen();
  } catch (err) {
    log.warn(
      { err, address, network: network.name },
      "cannot listen on the agents' network gateway; the credential proxy listens on all interfaces",
    );
    proxy = newProxy("0.0.0.0");
    await proxy.listen();
    bindsAddresses = false;
  }
  log.info({ network: network.name, gateway: address, mode: config.agentNetwork }, "agents' network ready");
  return {
    ca,
    proxy,
    network: network.name,
    gateway: { name: GATEWAY_NAME, address },
    modelBaseUrl: `http://${GATEWAY_NAME}:${proxy.port}${CredentialProxy.pathPrefix}`,
    dial: null,
    bindsAddresses,
  };
}

type SwarmSettings = Extract<Config["cluster"]["runtime"], { kind: "swarm" }>;

/**
 * A swarm's agents' bridge exists on a node only once a task joins it, so the host cannot listen on its
 * gateway at start: the credential proxy and the dial server listen on every interface. On one node an
 * agent still reaches them from its own address (traffic to the gateway is not translated), so tokens stay
 * bound to it; agents on other nodes come through SWARM_HOST_ADDRESS, translated, so nothing is bound then.
 */
async function startSwarmPlumbing(
  config: Config,
  swarm: SwarmSettings,
  network: NetworkInfo,
  ca: CaFiles | null,
  log: Logger,
  newProxy: (host: string) => CredentialProxy,
): Promise<AgentPlumbing> {
  const address = swarm.hostAddress ?? network.gateway ?? subnetGateway(swarm.subnet);
  const proxy = newProxy("0.0.0.0");
  await proxy.listen();
  const dial = new DialServer({
    host: "0.0.0.0",
    port: config.cluster.dialPort,
    advertise: { host: GATEWAY_NAME },
    log,
  });
  try {
    await dial.listen();
  } catch (err) {
    await proxy.close();
    throw new ContainerError(
      "DIAL_PORT_IN_USE",
      `cannot listen for agents on port ${config.cluster.dialPort} (AGENT_DIAL_PORT): ${(err as Error).message}; choose a free port or 0`,
      { cause: err },
    );
  }
  log.info(
    {
      network: network.name,
      host: address,
      proxyPort: proxy.port,
      dialPort: dial.port,
      mode: config.agentNetwork,
    },
    "swarm agents' network ready; agents dial home",
  );
  return {
    ca,
    proxy,
    dial,
    network: network.name,
    gateway: { name: GATEWAY_NAME, address },
    modelBaseUrl: `http://${GATEWAY_NAME}:${proxy.port}${CredentialProxy.pathPrefix}`,
    bindsAddresses: swarm.hostAddress === null,
  };
}

/** SWARM_SUBNET must not be a network this machine is already on (other than the agents' own bridge). */
export function checkSubnetFree(subnet: string, interfaces = networkInterfaces()): void {
  const gateway = subnetGateway(subnet);
  for (const [name, addresses] of Object.entries(interfaces)) {
    for (const a of addresses ?? []) {
      if (a.family !== "IPv4" || a.address === gateway) continue;
      if (inSubnet(a.address, subnet)) {
        throw new ConfigError([
          `SWARM_SUBNET: ${subnet} overlaps ${name} (${a.address}) on this machine; choose a free private subnet, e.g. SWARM_SUBNET=10.214.0.0/24`,
        ]);
      }
    }
  }
}

/**
 * Closes the credential proxy and gives the agents' network back (the daemon has a small pool of bridge
 * subnets); a network still in use (a container left behind) stays, with a warning, and is reused next start.
 */
export async function closeAgentPlumbing(
  runtime: ContainerRuntime,
  plumbing: AgentPlumbing,
  log: Logger,
): Promise<void> {
  await plumbing.proxy.close();
  await plumbing.dial?.close();
  try {
    await runtime.removeNetwork(plumbing.network);
  } catch (err) {
    log.warn(
      { err, network: plumbing.network },
      "could not remove the agents' network; it is reused next start",
    );
  }
}
