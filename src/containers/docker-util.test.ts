import { expect, it } from "vitest";
import { demuxLogs, firstAddress, gatewayOf, subnetOf } from "./docker-util.js";

it("names a subnet's first address, and nothing for what is not an IPv4 CIDR", () => {
  expect(firstAddress("10.213.7.0/24")).toBe("10.213.7.1");
  expect(firstAddress("192.168.0.0/16")).toBe("192.168.0.1");
  expect(firstAddress("fd00::/64")).toBeNull();
  expect(firstAddress("10.1.2.0")).toBeNull();
});

it("reads a network's gateway and subnet, from the subnet when the gateway is left out", () => {
  const net = { IPAM: { Config: [{ Subnet: "fd00::/64" }, { Subnet: "10.9.8.0/24" }] } };
  expect(gatewayOf(net)).toBe("10.9.8.1");
  expect(subnetOf(net)).toBe("10.9.8.0/24");
  expect(gatewayOf({ IPAM: { Config: [{ Subnet: "10.9.8.0/24", Gateway: "10.9.8.254" }] } })).toBe(
    "10.9.8.254",
  );
  expect(gatewayOf({})).toBeNull();
});

it("splits a multiplexed log stream into stdout and stderr, in order", () => {
  const frame = (kind: number, text: string) => {
    const body = Buffer.from(text);
    const head = Buffer.alloc(8);
    head[0] = kind;
    head.writeUInt32BE(body.length, 4);
    return Buffer.concat([head, body]);
  };
  const data = Buffer.concat([frame(1, "out1\n"), frame(2, "err\n"), frame(1, "out2\n")]);
  expect(demuxLogs(data)).toEqual({ stdout: "out1\nout2\n", stderr: "err\n" });
  expect(demuxLogs(Buffer.concat([data, Buffer.from([1, 0, 0])]))).toEqual({
    stdout: "out1\nout2\n",
    stderr: "err\n",
  });
});
