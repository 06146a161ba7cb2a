import type { NetworkInterfaceInfo } from "node:os";
import { expect, it } from "vitest";
import { inSubnet } from "../cluster-config.js";
import { checkSubnetFree } from "./plumbing.js";

const nic = (address: string) => [{ family: "IPv4", address } as NetworkInterfaceInfo];

it("SWARM_SUBNET is refused when this machine is already on it, except as the agents' own gateway", () => {
  expect(inSubnet("10.213.0.77", "10.213.0.0/24")).toBe(true);
  expect(inSubnet("10.213.1.1", "10.213.0.0/24")).toBe(false);
  expect(() => checkSubnetFree("10.213.0.0/24", { eth0: nic("10.213.0.5") })).toThrow(
    /SWARM_SUBNET: 10\.213\.0\.0\/24 overlaps eth0 \(10\.213\.0\.5\) on this machine; choose a free private subnet/,
  );
  // The agents' bridge from an earlier start holds the gateway: that is ours, not a clash.
  expect(() =>
    checkSubnetFree("10.213.0.0/24", { "br-1": nic("10.213.0.1"), eth0: nic("192.168.1.2") }),
  ).not.toThrow();
});
