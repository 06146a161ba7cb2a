import { type Dirent, existsSync, readdirSync, realpathSync, statSync } from "node:fs";
import path from "node:path";
import type { Config } from "../config.js";
import type { RegisteredChat } from "../registration/chat.js";
import {
  type AllowlistRoot,
  isInside,
  loadMountAllowlist,
  MountRefusedError,
  pathVariants,
} from "./mount-allowlist.js";

export { ALLOWLIST_EXAMPLE, MountRefusedError } from "./mount-allowlist.js";

/** An extra host folder mounted at `/workspace/extra/<name>`. */
export type ExtraMount = RegisteredChat["extraMounts"][number];

/** Names of extra mounts: one safe path segment under `/workspace/extra/`. */
export const MOUNT_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,31}$/;

/** What the mount rule needs to know about this installation; built once from the Config. */
export interface MountPolicy {
  /** The allowlist file (outside the data folder); read at every check. */
  allowlistFile: string;
  dataDir: string;
  /** `data/` as the Docker daemon sees it, when it differs. */
  hostDataDir: string | null;
  /** Home folders whose credential folders are refused (the user's and root's). */
  homes: string[];
  /** Where the Docker socket may live (default paths, DOCKER_HOST, rootless). */
  dockerSockets: string[];
  /** Files no mount may contain, such as the `.env` holding the model key. */
  protectedFiles: string[];
}

/** The mount policy of a loaded configuration. */
export function mountPolicy(config: Config): MountPolicy {
  return { ...config.mounts, dataDir: config.dataDir, hostDataDir: config.hostDataDir };
}

/** Refused whatever the allowlist says: the mount may be neither one of these nor inside one. */
const SYSTEM_DIRS = [
  "/etc",
  "/proc",
  "/sys",
  "/dev",
  "/boot",
  "/root",
  "/var/run",
  "/run",
  "/var/lib/docker",
];
/** Credential folders under a home: refused when the mount is, holds or lies inside one. */
export const CREDENTIAL_DIRS = [".ssh", ".gnupg", ".aws", ".docker", ".kube", ".config/gcloud"];

const overlaps = (a: string, b: string) => isInside(a, b) || isInside(b, a);
/** How a mount relates to a folder it overlaps, for the message. */
const relation = (mount: string, dir: string) =>
  mount === dir ? "is" : isInside(mount, dir) ? "lies inside" : "holds";

/** How far {@link findSocket} looks: sockets are searched near the top, where daemons put them. */
const SOCKET_SCAN = { depth: 3, entries: 5000 };

/**
 * The first socket in the top levels of `dir` (relative path), or null. Symlinks are not followed:
 * inside the container they resolve in its own file system. The top folder must be readable.
 */
function findSocket(dir: string): string | null {
  let level = [""];
  let seen = 0;
  for (let depth = 0; depth < SOCKET_SCAN.depth && level.length > 0; depth++) {
    const next: string[] = [];
    for (const rel of level) {
      let entries: Dirent[];
      try {
        entries = readdirSync(path.join(dir, rel), { withFileTypes: true });
      } catch (err) {
        if (rel === "") throw err;
        continue;
      }
      for (const e of entries) {
        if (++seen > SOCKET_SCAN.entries) return null;
        if (e.isSocket()) return path.join(rel, e.name);
        if (e.isDirectory()) next.push(path.join(rel, e.name));
      }
    }
    level = next;
  }
  return null;
}

/**
 * The one rule for extra mounts, used at registration and before every container start: each
 * path is resolved to its real path, must be an existing folder inside an allowlisted root (`rw`
 * only where that root allows it) and may never be or hold the Docker socket, overlap the data
 * folder, the allowlist's folder or a credential folder, or be a system folder. Returns the mounts
 * with their real paths; throws MountRefusedError naming the mount and the fix.
 */
export function checkExtraMounts(mounts: readonly ExtraMount[], policy: MountPolicy): ExtraMount[] {
  if (mounts.length === 0) return [];
  let roots: AllowlistRoot[];
  try {
    roots = loadMountAllowlist(policy.allowlistFile, policy.dataDir);
  } catch (err) {
    if (!(err instanceof MountRefusedError)) throw err;
    throw new MountRefusedError((mounts[0] as ExtraMount).name, err.reason, err.fix, { cause: err });
  }
  return mounts.map((m) => checkOne(m, policy, roots));
}

function checkOne(m: ExtraMount, policy: MountPolicy, roots: AllowlistRoot[]): ExtraMount {
  const refuse = (reason: string, fix: string, cause?: unknown): never => {
    throw new MountRefusedError(m.name, reason, fix, { cause });
  };
  if (!MOUNT_NAME_PATTERN.test(m.name)) {
    refuse(`the mount name "${m.name}" is not allowed`, "use 1-32 lowercase letters, digits, - or _");
  }
  if (!path.isAbsolute(m.hostPath)) refuse(`${m.hostPath} is not an absolute path`, "give the full path");
  let real = "";
  try {
    real = realpathSync(m.hostPath);
  } catch (err) {
    refuse(`${m.hostPath} does not exist`, "create the folder or correct the path", err);
  }
  const what = real === m.hostPath ? real : `${m.hostPath} (real path ${real})`;
  const st = statSync(real);
  if (st.isSocket()) refuse(`${what} is a socket`, "mount a folder, never a socket");
  if (!st.isDirectory()) refuse(`${what} is not a folder`, "mount a folder");
  const sockets = policy.dockerSockets.flatMap(pathVariants);
  for (const sock of sockets.filter((s) => existsSync(s))) {
    if (isInside(sock, real)) {
      refuse(
        `${what} holds the Docker socket ${sock}`,
        "mount a folder that does not hold the Docker socket",
      );
    }
  }
  let socket: string | null = null;
  try {
    socket = findSocket(real);
  } catch (err) {
    refuse(`${what} cannot be read by nestbox`, "mount a folder nestbox's user can read", err);
  }
  if (socket) refuse(`${what} holds a socket (${socket})`, "mount a folder that holds no sockets");
  if (real === "/") refuse(`${what} is the root of the file system`, "mount one of your own folders");
  for (const sys of SYSTEM_DIRS.flatMap(pathVariants)) {
    if (isInside(real, sys))
      refuse(`${what} ${relation(real, sys)} the system folder ${sys}`, "mount one of your own folders");
  }
  const data = [...pathVariants(policy.dataDir), ...(policy.hostDataDir ? [policy.hostDataDir] : [])];
  for (const d of data) {
    if (overlaps(real, d)) {
      refuse(
        `${what} ${relation(real, d)} nestbox's data folder ${d} (chat folders, sessions, channel credentials)`,
        "mount a folder that neither lies inside the data folder nor holds it",
      );
    }
  }
  for (const cred of policy.homes.flatMap((h) => CREDENTIAL_DIRS.map((c) => path.join(h, c)))) {
    for (const c of pathVariants(cred)) {
      if (overlaps(real, c)) {
        refuse(
          `${what} ${relation(real, c)} the credential folder ${c}`,
          `mount a folder that neither is, holds nor lies inside ${CREDENTIAL_DIRS.map((d) => `~/${d}`).join(", ")}`,
        );
      }
    }
  }
  for (const dir of pathVariants(path.dirname(policy.allowlistFile))) {
    if (overlaps(real, dir)) {
      refuse(
        `${what} ${relation(real, dir)} ${dir}, the folder of the mount allowlist`,
        "mount a folder outside it",
      );
    }
  }
  for (const file of policy.protectedFiles.flatMap(pathVariants)) {
    if (isInside(file, real))
      refuse(`${what} holds ${file}, which holds secrets`, "mount a folder without it");
  }
  for (const sock of sockets) {
    if (isInside(sock, real)) {
      refuse(
        `${what} holds ${sock}, where a Docker socket may appear`,
        "mount a folder that cannot hold the Docker socket",
      );
    }
  }
  const root = roots
    .filter((r) => isInside(real, r.path))
    .sort((a, b) => b.path.length - a.path.length)
    .at(0);
  if (!root) {
    refuse(
      `${what} is not under any root in the mount allowlist ${policy.allowlistFile}`,
      `add a root that holds it to that file, e.g. { "path": "${real}", "readWrite": false }`,
    );
  }
  if (!m.readOnly && !root?.readWrite) {
    refuse(
      `${what} may only be mounted read-only: its root ${root?.path} has no "readWrite": true in ${policy.allowlistFile}`,
      `mount it with :ro, or set "readWrite": true for that root`,
    );
  }
  return { name: m.name, hostPath: real, readOnly: m.readOnly };
}
