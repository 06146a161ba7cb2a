import { ContainerError } from "../../errors.js";
import type { NetworkInfo, NetworkSpec } from "../container-runtime.js";
import { firstAddress, ICC, subnetOf } from "../docker-util.js";
import type { SwarmEngine } from "./engine.js";

/** The per-node config-only network a swarm network named `name` takes its settings from. */
export const configNetworkName = (name: string): string => `${name}-cfg`;

/** How long a removal waits for the nodes to drop their copy of the network. */
const REMOVE_TRIES = 50;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A swarm-scoped bridge with inter-container traffic off: a config-only network (subnet, ICC off,
 * the labels) and a `--scope swarm --config-from` bridge built from it (Internal there). The bridge
 * exists on a node only while a task of it runs there (the node drops it some 5 s after the last one
 * leaves), so its subnet is explicit and the gateway is its first address: a host listener cannot
 * bind the gateway address before an agent runs (bind a wildcard address and check the peer instead).
 */
export async function ensureSwarmNetwork(
  engine: SwarmEngine,
  name: string,
  spec: NetworkSpec,
): Promise<NetworkInfo> {
  const subnet = spec.subnet;
  const gateway = subnet ? firstAddress(subnet) : null;
  if (!subnet || !gateway) {
    throw new ContainerError(
      "SWARM_SUBNET_REQUIRED",
      `the swarm network ${name} needs an IPv4 subnet (CIDR), got ${subnet ?? "none"}`,
    );
  }
  const cfgName = configNetworkName(name);
  const ours = (labels: Record<string, string> | null | undefined) =>
    Object.entries(spec.labels).every(([k, v]) => labels?.[k] === v);
  const conflict = (what: string) =>
    new ContainerError(
      "DOCKER_NETWORK_CONFLICT",
      `a Docker network named ${what} exists without the labels ${JSON.stringify(spec.labels)}: ` +
        "nestbox did not create it; remove or rename it (docker network rm)",
    );
  const info = { name, gateway, internal: spec.internal };

  const existing = await engine.inspectNetwork(name);
  let cfg = await engine.inspectNetwork(cfgName);
  if (existing && existing.ConfigFrom?.Network !== cfgName) {
    // Ours, but a plain bridge (the local runtime's, under the same name): replaced once unused.
    if (!ours(existing.Labels)) throw conflict(name);
    await engine.removeNetwork(name);
  } else if (existing) {
    if (!cfg || !ours(cfg.Labels)) throw conflict(name);
    const same =
      existing.Scope === "swarm" &&
      (existing.Internal ?? false) === spec.internal &&
      subnetOf(cfg) === subnet &&
      cfg.Options?.[ICC] === "false";
    if (same) return info;
    await removeSwarmNetwork(engine, name);
    cfg = await engine.inspectNetwork(cfgName);
  }
  if (cfg && !ours(cfg.Labels)) throw conflict(cfgName);
  if (cfg && (subnetOf(cfg) !== subnet || cfg.Options?.[ICC] !== "false")) {
    await engine.removeNetwork(cfgName);
    cfg = null;
  }
  if (!cfg) {
    await createTolerant(engine, cfgName, () =>
      engine.createNetwork({
        Name: cfgName,
        ConfigOnly: true,
        Labels: spec.labels,
        Options: { [ICC]: "false" },
        IPAM: { Config: [{ Subnet: subnet, Gateway: gateway }] },
      }),
    );
  }
  // Labels and options are refused on a config-from network: they live on the config-only one.
  await createTolerant(engine, name, () =>
    engine.createNetwork({
      Name: name,
      Driver: "bridge",
      Scope: "swarm",
      ConfigFrom: { Network: cfgName },
      Internal: spec.internal,
    }),
  );
  return info;
}

/** Creates, where a concurrent creator winning the race (409) is as good as our own create. */
async function createTolerant(engine: SwarmEngine, name: string, create: () => Promise<void>) {
  try {
    await create();
  } catch (err) {
    if (!(err instanceof ContainerError && err.code === "DOCKER_409")) throw err;
    if (!(await engine.inspectNetwork(name))) throw err;
  }
}

/**
 * Removes the swarm network, then this node's copy of it (the engine drops the cluster's object
 * first and the node's bridge after), then the config-only network. Gone already: not an error;
 * a service still on it: DOCKER_NETWORK_IN_USE.
 */
export async function removeSwarmNetwork(engine: SwarmEngine, name: string): Promise<void> {
  const cfgName = configNetworkName(name);
  for (let i = 0; i < REMOVE_TRIES && (await engine.inspectNetwork(name)); i++) {
    try {
      await engine.removeNetwork(name);
    } catch (err) {
      // The node's copy can go between our inspect and our delete (the engine says 500 "not found").
      if (!(err instanceof ContainerError && /not found/.test(err.message))) throw err;
    }
    if (await engine.inspectNetwork(name)) await sleep(200);
  }
  for (let i = 0; ; i++) {
    try {
      await engine.removeNetwork(cfgName);
      return;
    } catch (err) {
      // The node's copy can still be going: "configuration network is in use" for a moment.
      const inUse = err instanceof ContainerError && err.code === "DOCKER_NETWORK_IN_USE";
      if (!inUse || i >= REMOVE_TRIES) throw err;
      await sleep(200);
    }
  }
}
