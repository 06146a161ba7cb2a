// Where agents run: the local Docker engine (attached stdio) or a Docker Swarm (services that dial home).
// Parsed from the same environment as src/config.ts, once, with errors that say what to set.
import { isIP } from "node:net";
import { z } from "zod";

/** The swarm runtime's settings (AGENT_RUNTIME=swarm). */
export interface SwarmSettings {
  /** Placement constraints every agent service gets (SWARM_PLACEMENT), e.g. `node.labels.nestbox==agents`. */
  placement: string[];
  /** Driver and options of the chats' named volumes (SWARM_VOLUME_DRIVER, SWARM_VOLUME_OPTIONS). */
  volumeDriver: { name: string; options: Record<string, string> };
  /** The agents' swarm-scoped bridge subnet on every node (SWARM_SUBNET); the host is its first address. */
  subnet: string;
  /**
   * The address agents dial for the host (SWARM_HOST_ADDRESS): null on one node (the subnet's gateway);
   * the manager's address other nodes route to on a multi-node swarm.
   */
  hostAddress: string | null;
}

/** Which runtime agents run on, and the host's protocol port for agents that dial home. */
export interface ClusterConfig {
  runtime: { kind: "local" } | ({ kind: "swarm" } & SwarmSettings);
  /** The port agents dial (AGENT_DIAL_PORT); 0: any free port, chosen at each start. */
  dialPort: number;
  /** The credential proxy's port (CREDENTIAL_PROXY_PORT); 0: any free port. Fixed ones suit firewalls between nodes. */
  proxyPort: number;
}

const port = () =>
  z
    .string()
    .default("0")
    .refine(
      (v) => /^\d+$/.test(v) && Number(v) <= 65_535,
      "must be a port number from 0 (any free port) to 65535",
    );

const CONSTRAINT = /^[A-Za-z][\w.-]*\s*(==|!=)\s*\S+$/;

/** The variables {@link clusterSchema} reads, merged into the config schema. */
export const clusterSchema = {
  AGENT_RUNTIME: z
    .enum(["local", "swarm"], {
      error: (i) =>
        `must be local (containers on this Docker engine) or swarm (services on the Docker Swarm this engine manages), got "${String(i.input)}"`,
    })
    .default("local"),
  AGENT_DIAL_PORT: port(),
  CREDENTIAL_PROXY_PORT: port(),
  SWARM_PLACEMENT: z
    .string()
    .optional()
    .refine(
      (v) => v === undefined || splitList(v, ",").every((c) => CONSTRAINT.test(c)),
      "must be placement constraints separated by commas, each like node.role==worker or node.labels.nestbox!=off",
    ),
  SWARM_VOLUME_DRIVER: z
    .string()
    .default("local")
    .refine((v) => /^[A-Za-z0-9][\w./:-]*$/.test(v), "must be a volume driver name such as local"),
  SWARM_VOLUME_OPTIONS: z
    .string()
    .optional()
    .refine(
      (v) => v === undefined || splitList(v, ";").every((kv) => /^[\w.-]+=/.test(kv)),
      "must be driver options key=value separated by semicolons, e.g. type=nfs;o=addr=10.0.0.5,rw;device=:/srv/nestbox",
    ),
  SWARM_SUBNET: z
    .string()
    .default("10.213.0.0/24")
    .refine(isPrivateSubnet, "must be an IPv4 subnet in CIDR form from /16 to /28, e.g. 10.213.0.0/24"),
  SWARM_HOST_ADDRESS: z
    .string()
    .optional()
    .refine(
      (v) => v === undefined || isIP(v) === 4,
      "must be the IPv4 address agents on other nodes reach this host at",
    ),
};

type ClusterEnv = z.infer<z.ZodObject<typeof clusterSchema>>;

/** The validated cluster settings from the parsed environment. */
export function clusterConfig(e: ClusterEnv): ClusterConfig {
  const dialPort = Number(e.AGENT_DIAL_PORT);
  const proxyPort = Number(e.CREDENTIAL_PROXY_PORT);
  if (e.AGENT_RUNTIME === "local") return { runtime: { kind: "local" }, dialPort, proxyPort };
  const options = Object.fromEntries(
    splitList(e.SWARM_VOLUME_OPTIONS ?? "", ";").map((kv) => {
      const at = kv.indexOf("=");
      return [kv.slice(0, at), kv.slice(at + 1)] as const;
    }),
  );
  return {
    runtime: {
      kind: "swarm",
      placement: splitList(e.SWARM_PLACEMENT ?? "", ",").map((c) => c.replace(/\s+/g, "")),
      volumeDriver: { name: e.SWARM_VOLUME_DRIVER, options },
      subnet: e.SWARM_SUBNET,
      hostAddress: e.SWARM_HOST_ADDRESS ?? null,
    },
    dialPort,
    proxyPort,
  };
}

function splitList(text: string, separator: string): string[] {
  return text
    .split(separator)
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/** An IPv4 address as a number (no validation: callers pass dotted quads). */
function ipv4Number(ip: string): number {
  return ip.split(".").reduce((acc, p) => acc * 256 + Number(p), 0);
}

/** An IPv4 CIDR from /16 to /28 whose address is the network's own (no host bits set). */
function isPrivateSubnet(cidr: string): boolean {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr);
  if (!m) return false;
  const bits = Number(m[5]);
  if (m.slice(1, 5).some((p) => Number(p) > 255) || bits < 16 || bits > 28) return false;
  return ipv4Number(cidr.split("/")[0] as string) % 2 ** (32 - bits) === 0;
}

/** Whether `ip` lies in `cidr`. */
export function inSubnet(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split("/") as [string, string];
  const start = ipv4Number(base);
  const value = ipv4Number(ip);
  return value >= start && value < start + 2 ** (32 - Number(bits));
}

/** The subnet's first address, where the host sits on the agents' bridge of each node. */
export function subnetGateway(cidr: string): string {
  const [address] = cidr.split("/") as [string];
  const parts = address.split(".").map(Number) as [number, number, number, number];
  return `${parts[0]}.${parts[1]}.${parts[2]}.${parts[3] + 1}`;
}
