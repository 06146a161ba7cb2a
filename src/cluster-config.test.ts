import { describe, expect, it } from "vitest";
import { subnetGateway } from "./cluster-config.js";
import { loadConfig } from "./config.js";

describe("AGENT_RUNTIME and the swarm settings", () => {
  it("runs agents on the local engine by default, any free dial port", () => {
    expect(loadConfig({}).cluster).toEqual({ runtime: { kind: "local" }, dialPort: 0, proxyPort: 0 });
  });

  it("reads the swarm's placement, volume driver with options, subnet and host address", () => {
    const c = loadConfig({
      AGENT_RUNTIME: "swarm",
      AGENT_DIAL_PORT: "4200",
      CREDENTIAL_PROXY_PORT: "4201",
      SWARM_PLACEMENT: "node.role == worker, node.labels.nestbox!=off",
      SWARM_VOLUME_DRIVER: "local",
      SWARM_VOLUME_OPTIONS: "type=nfs;o=addr=10.0.0.5,rw,nfsvers=4;device=:/srv/nestbox",
      SWARM_SUBNET: "10.214.0.0/24",
      SWARM_HOST_ADDRESS: "192.168.1.10",
    }).cluster;
    expect(c).toEqual({
      dialPort: 4200,
      proxyPort: 4201,
      runtime: {
        kind: "swarm",
        placement: ["node.role==worker", "node.labels.nestbox!=off"],
        volumeDriver: {
          name: "local",
          options: { type: "nfs", o: "addr=10.0.0.5,rw,nfsvers=4", device: ":/srv/nestbox" },
        },
        subnet: "10.214.0.0/24",
        hostAddress: "192.168.1.10",
      },
    });
  });

  it("defaults a swarm to one node: local volumes, 10.213.0.0/24, agents dial the subnet's gateway", () => {
    const c = loadConfig({ AGENT_RUNTIME: "swarm" }).cluster.runtime;
    expect(c).toEqual({
      kind: "swarm",
      placement: [],
      volumeDriver: { name: "local", options: {} },
      subnet: "10.213.0.0/24",
      hostAddress: null,
    });
    expect(subnetGateway("10.213.0.0/24")).toBe("10.213.0.1");
  });

  it("says what to fix for each bad value, all at once", () => {
    let message = "";
    try {
      loadConfig({
        AGENT_RUNTIME: "kubernetes",
        AGENT_DIAL_PORT: "70000",
        SWARM_PLACEMENT: "worker",
        SWARM_VOLUME_OPTIONS: "nfs",
        SWARM_SUBNET: "10.213.0.5/24",
        SWARM_HOST_ADDRESS: "manager.local",
      });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/AGENT_RUNTIME: must be local .* or swarm .*, got "kubernetes"/);
    expect(message).toMatch(/AGENT_DIAL_PORT: must be a port number/);
    expect(message).toMatch(/SWARM_PLACEMENT: must be placement constraints .* node\.role==worker/);
    expect(message).toMatch(/SWARM_VOLUME_OPTIONS: must be driver options key=value/);
    expect(message).toMatch(/SWARM_SUBNET: must be an IPv4 subnet in CIDR form/);
    expect(message).toMatch(/SWARM_HOST_ADDRESS: must be the IPv4 address/);
  });
});
