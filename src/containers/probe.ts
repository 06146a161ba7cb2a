import { randomBytes } from "node:crypto";
import { chmodSync, lchownSync, mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { type AgentOwner, agentOwner } from "../agents/agent-user.js";
import { ContainerError } from "../errors.js";
import { daemonPath } from "../sandbox/index.js";
import type { ContainerRuntime } from "./container-runtime.js";

/** Where nestbox runs, as sandbox detection saw it: decides whether a nested daemon can be the cause. */
export interface ProbeWhere {
  ownContainerId: string | null;
  dockerHost: string | null;
}

/** What the visibility probe needs. */
export interface ProbeOptions {
  image: string;
  dataDir: string;
  hostDataDir: string | null;
  /** The uid/gid agents run as (default: {@link agentOwner}); the probe reads as them. */
  owner?: AgentOwner;
  /** Sandbox detection's answer; without it no container and the default socket are assumed. */
  where?: ProbeWhere;
}

/** nestbox runs in a container, talks to a daemon elsewhere, or was told the daemon's path differs. */
export function daemonMaySeeOtherFiles(o: Pick<ProbeOptions, "hostDataDir" | "where">): boolean {
  const host = o.where?.dockerHost ?? "";
  const remote = host !== "" && !host.startsWith("unix://") && !host.startsWith("npipe://");
  return o.hostDataDir !== null || (o.where?.ownContainerId ?? null) !== null || remote;
}

function notVisible(o: ProbeOptions, detail: string): ContainerError {
  const seen = o.hostDataDir ? `${o.hostDataDir} (NESTBOX_HOST_DATA_DIR)` : o.dataDir;
  if (!daemonMaySeeOtherFiles(o))
    return new ContainerError(
      "DATA_NOT_VISIBLE",
      `the Docker daemon cannot see nestbox's data folder at ${seen} (${detail}): it mounted the path but ` +
        "found other files there. Docker Desktop shares only the folders listed in Settings > Resources > " +
        "File sharing, and snap-installed Docker only folders under /home: move the data folder there " +
        "(NESTBOX_DATA_DIR) or share it with the daemon",
    );
  return new ContainerError(
    "DATA_NOT_VISIBLE",
    `the Docker daemon cannot see nestbox's data folder at ${seen} (${detail}). nestbox seems to run in a ` +
      "container that talks to another Docker daemon (socket-mounted or DOCKER_HOST): mount the data folder " +
      "from the daemon's host into this container and set NESTBOX_HOST_DATA_DIR to its path on that host, " +
      `e.g. NESTBOX_HOST_DATA_DIR=/srv/nestbox/data (see docs/sandboxes.md)`,
  );
}

/** The data folder and the folders above it that others cannot cross (no o+x): a daemon not running as root stops there. */
export function uncrossable(dataDir: string, mode: (p: string) => number | null = modeOf): string[] {
  const blocked: string[] = [];
  for (let p = path.resolve(dataDir); ; p = path.dirname(p)) {
    const m = mode(p);
    if (m !== null && (m & 0o001) === 0) blocked.unshift(p);
    if (path.dirname(p) === p) return blocked;
  }
}

function modeOf(p: string): number | null {
  try {
    return statSync(p).mode;
  } catch {
    return null;
  }
}

/** The agents' user (or the daemon for it) was refused: name the exact folders and the chmod that fixes it. */
function permissionDenied(o: ProbeOptions, owner: AgentOwner, detail: string): ContainerError {
  const blocked = uncrossable(o.dataDir);
  const fix =
    blocked.length > 0
      ? `chmod o+x ${blocked.join(" ")} (or run nestbox doctor --fix for the data folder itself)`
      : `nothing on the way to ${o.dataDir} lacks o+x; with SELinux enforcing, label it for containers: ` +
        `chcon -Rt container_file_t ${o.dataDir}`;
  return new ContainerError(
    "DATA_PERMISSION_DENIED",
    `permission denied: the agents' user (${owner.uid}:${owner.gid}) cannot read a folder mounted from ` +
      `${o.dataDir} (${detail}). Fix: ${fix}`,
  );
}

const firstLine = (text: string) => text.trim().split("\n")[0] ?? "";

/**
 * Proves that the daemon can mount folders of `data/` for the agents, as agents get them: a fresh
 * subfolder of `data/` (owned by the agents' user, like a chat folder) holding a random token,
 * mounted read-only and read back by a throwaway container running as the agents' user. A failure
 * says which of the causes it saw (permission, another filesystem, a nested daemon) and the fix.
 */
export async function probeDataVisibility(runtime: ContainerRuntime, o: ProbeOptions): Promise<void> {
  const owner = o.owner ?? agentOwner();
  const token = randomBytes(12).toString("hex");
  mkdirSync(o.dataDir, { recursive: true });
  const dir = path.join(o.dataDir, `.nestbox-probe-${randomBytes(4).toString("hex")}`);
  const file = path.join(dir, ".nestbox-probe");
  mkdirSync(dir);
  try {
    // A umask of 077 must not make the probe fail where agents (whose folders are theirs) would not.
    chmodSync(dir, 0o755);
    writeFileSync(file, token, { mode: 0o644 });
    if (process.getuid?.() === 0) for (const p of [dir, file]) lchownSync(p, owner.uid, owner.gid);
    let result: { stdout: string; stderr: string };
    try {
      result = await runtime.run({
        name: `nestbox-probe-${randomBytes(4).toString("hex")}`,
        image: o.image,
        labels: { "nestbox.probe": "1" },
        env: {},
        entrypoint: ["cat", "/probe/.nestbox-probe"],
        user: `${owner.uid}:${owner.gid}`,
        mounts: [
          { hostPath: daemonPath(dir, o.dataDir, o.hostDataDir), containerPath: "/probe", readOnly: true },
        ],
        capDrop: ["ALL"],
        securityOpt: ["no-new-privileges"],
        // It only reads a file: no network at all, so it depends on no bridge and reaches nothing.
        network: "none",
      });
    } catch (err) {
      const message = (err as Error).message;
      // The daemon itself could not get at the bind source (NFS root squash, a 0700 parent it cannot cross).
      if (/permission denied/i.test(message)) throw permissionDenied(o, owner, message);
      // The engine refuses a bind source it cannot see; anything else (a missing image...) is not ours to explain.
      if (/bind|mount|no such file or directory/i.test(message)) throw notVisible(o, message);
      throw err;
    }
    const out = result.stdout.trim();
    if (out === token) return;
    if (/permission denied/i.test(result.stderr)) throw permissionDenied(o, owner, firstLine(result.stderr));
    const why = out ? "it holds another file there" : "the file is missing";
    throw notVisible(o, result.stderr.trim() ? `${why}: ${firstLine(result.stderr)}` : why);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Proves agents can run where services run: one one-shot service of the agent image, placed like the
 * agents, that prints a token. Call after `runtime.version()`, which names a missing swarm. Fails with what the engine said and the likely fix (the swarm, the image).
 */
export async function probeServices(runtime: ContainerRuntime, image: string): Promise<void> {
  const token = randomBytes(8).toString("hex");
  let result: { exitCode: number; stdout: string; stderr: string };
  try {
    result = await runtime.run({
      name: `nestbox-probe-${randomBytes(4).toString("hex")}`,
      image,
      labels: { "nestbox.probe": "1" },
      env: {},
      entrypoint: ["node", "-e", `console.log(${JSON.stringify(token)})`],
      mounts: [],
      capDrop: ["ALL"],
    });
  } catch (err) {
    throw new ContainerError(
      "SERVICE_PROBE_FAILED",
      `a one-shot service of ${image} could not run on the swarm (${(err as Error).message}); every node that may ` +
        "run agents needs the image (docker save | docker load, or a registry and AGENT_IMAGE), see docs/cluster.md",
      { cause: err },
    );
  }
  if (result.exitCode === 0 && result.stdout.includes(token)) return;
  throw new ContainerError(
    "SERVICE_PROBE_FAILED",
    `a one-shot service of ${image} exited with ${result.exitCode}: ${firstLine(result.stderr || result.stdout) || "no output"}`,
  );
}
