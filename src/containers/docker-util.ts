import { ContainerError } from "../errors.js";

/** Docker's bridge driver option that turns inter-container traffic on a network on or off. */
export const ICC = "com.docker.network.bridge.enable_icc";

/** The parts of a network's IPAM the runtimes read. */
export interface IpamView {
  IPAM?: { Config?: { Gateway?: string; Subnet?: string }[] | null };
}

/** The first host address of an IPv4 CIDR (`10.1.2.0/24` -> `10.1.2.1`); null when it is not one. */
export function firstAddress(subnet: string): string | null {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(subnet);
  if (!m) return null;
  const [a, b, c, d] = [m[1], m[2], m[3], m[4]].map(Number) as [number, number, number, number];
  const n = (((a << 24) | (b << 16) | (c << 8) | d) >>> 0) + 1;
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/** The network's IPv4 gateway; older engines leave it out for the default bridge: the subnet's first address. */
export function gatewayOf(net: IpamView): string | null {
  const configs = net.IPAM?.Config ?? [];
  const gateway = configs.find((c) => c.Gateway && !c.Gateway.includes(":"))?.Gateway;
  if (gateway) return gateway;
  for (const c of configs) {
    const first = firstAddress(c.Subnet ?? "");
    if (first) return first;
  }
  return null;
}

/** The network's IPv4 subnet, or null. */
export function subnetOf(net: IpamView): string | null {
  return (net.IPAM?.Config ?? []).find((c) => c.Subnet && !c.Subnet.includes(":"))?.Subnet ?? null;
}

/** Collects a stream's text; `ended` resolves when it ends (never rejects). */
export function collect(stream: NodeJS.ReadableStream): { text: () => string; ended: Promise<void> } {
  const chunks: Buffer[] = [];
  stream.on("data", (d: Buffer) => chunks.push(d));
  const ended = new Promise<void>((resolve) => {
    stream.once("end", resolve);
    stream.once("close", resolve);
    stream.once("error", () => resolve());
  });
  return { text: () => Buffer.concat(chunks).toString(), ended };
}

/** The HTTP status of a failed Engine API call (undefined: the engine was not reached). */
export const statusOf = (err: unknown) => (err as { statusCode?: number }).statusCode;

/** A failed Engine API call as a ContainerError: DOCKER_<status>, or DOCKER_UNREACHABLE. */
export function wrap(what: string, err: unknown): ContainerError {
  const message =
    (err as { json?: { message?: string } }).json?.message ?? (err as Error).message ?? String(err);
  const code = statusOf(err) === undefined ? "DOCKER_UNREACHABLE" : `DOCKER_${statusOf(err)}`;
  return new ContainerError(code, `${what}: ${message}`, { cause: err });
}

/** Splits Docker's multiplexed log stream (8-byte frame headers: 1 stdout, 2 stderr) into its two texts. */
export function demuxLogs(data: Buffer): { stdout: string; stderr: string } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let at = 0;
  while (at + 8 <= data.length) {
    const kind = data[at];
    const size = data.readUInt32BE(at + 4);
    const frame = data.subarray(at + 8, at + 8 + size);
    (kind === 2 ? err : out).push(frame);
    at += 8 + size;
  }
  return { stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}
