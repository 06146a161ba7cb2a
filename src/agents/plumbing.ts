import type { Config, ModelConfig } from "../config.js";
import { agentNetworkName, LABELS } from "../containers/agent-spec.js";
import type { ContainerRuntime, NetworkInfo } from "../containers/container-runtime.js";
import { ContainerError } from "../errors.js";
import type { Logger } from "../log.js";
import { type CaFiles, type SandboxEnvironment, writeCaFiles } from "../sandbox/index.js";
import { CredentialProxy, type ProxyLimits } from "./credential-proxy.js";

/** The host name agent containers use for the host (mapped to the agents' network gateway). */
export const GATEWAY_NAME = "host.docker.internal";

/** Creates (or reuses) the install's agents' network: bridge, inter-container traffic off, labelled. */
export async function ensureAgentNetwork(
  runtime: ContainerRuntime,
  installId: string,
  mode: Config["agentNetwork"],
): Promise<NetworkInfo> {
  const name = agentNetworkName(installId);
  try {
    return await runtime.ensureNetwork(name, {
      internal: mode === "internal",
      labels: { [LABELS.install]: installId },
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
  const network = await ensureAgentNetwork(runtime, installId, config.agentNetwork);
  const address = network.gateway ?? "127.0.0.1";
  const limits = { ...proxyLimits, maxBodyBytes: config.credentialProxy.maxBodyBytes };
  const { retryWindowMs: windowMs, stallTimeoutMs: stallMs } = config.credentialProxy;
  const retry = { windowMs, stallMs };
  let proxy = new CredentialProxy({ model, proxy: sandbox.proxy, log, host: address, limits, retry });
  let bindsAddresses = network.gateway !== null;
  try {
    await proxy.listen();
  } catch (err) {
    log.warn(
      { err, address, network: network.name },
      "cannot listen on the agents' network gateway; the credential proxy listens on all interfaces",
    );
    proxy = new CredentialProxy({ model, proxy: sandbox.proxy, log, host: "0.0.0.0", limits, retry });
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
    bindsAddresses,
  };
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
  try {
    await runtime.removeNetwork(plumbing.network);
  } catch (err) {
    log.warn(
      { err, network: plumbing.network },
      "could not remove the agents' network; it is reused next start",
    );
  }
}
