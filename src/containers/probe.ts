import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { ContainerError } from "../errors.js";
import { daemonPath } from "../sandbox/index.js";
import type { ContainerRuntime } from "./container-runtime.js";

/** What the visibility probe needs. */
export interface ProbeOptions {
  image: string;
  dataDir: string;
  hostDataDir: string | null;
}

function notVisible(o: ProbeOptions, detail: string): ContainerError {
  const seen = o.hostDataDir ? `${o.hostDataDir} (NESTBOX_HOST_DATA_DIR)` : o.dataDir;
  return new ContainerError(
    "DATA_NOT_VISIBLE",
    `the Docker daemon cannot see nestbox's data folder at ${seen} (${detail}). nestbox seems to run in a ` +
      "container that talks to another Docker daemon (socket-mounted or DOCKER_HOST): mount the data folder " +
      "from the daemon's host into this container and set NESTBOX_HOST_DATA_DIR to its path on that host, " +
      `e.g. NESTBOX_HOST_DATA_DIR=/srv/nestbox/data (see docs/sandboxes.md)`,
  );
}

/**
 * Proves that bind mounts of `data/` work: writes a random token under `data/`, and a throwaway
 * container reads it back through the mount the agents will use. Fails fast with the fix.
 */
export async function probeDataVisibility(runtime: ContainerRuntime, o: ProbeOptions): Promise<void> {
  const token = randomBytes(12).toString("hex");
  mkdirSync(o.dataDir, { recursive: true });
  const file = path.join(o.dataDir, ".nestbox-probe");
  writeFileSync(file, token, { mode: 0o644 });
  try {
    let out: string;
    try {
      ({ stdout: out } = await runtime.run({
        name: `nestbox-probe-${randomBytes(4).toString("hex")}`,
        image: o.image,
        labels: { "nestbox.probe": "1" },
        env: {},
        entrypoint: ["cat", "/probe/.nestbox-probe"],
        user: "65534:65534",
        mounts: [
          {
            hostPath: daemonPath(o.dataDir, o.dataDir, o.hostDataDir),
            containerPath: "/probe",
            readOnly: true,
          },
        ],
        capDrop: ["ALL"],
        securityOpt: ["no-new-privileges"],
        // It only reads a file: no network at all, so it depends on no bridge and reaches nothing.
        network: "none",
      }));
    } catch (err) {
      // The engine refuses a bind source it cannot see; anything else (a missing image...) is not ours to explain.
      if (/bind|mount|no such file or directory/i.test((err as Error).message))
        throw notVisible(o, (err as Error).message);
      throw err;
    }
    if (out.trim() !== token)
      throw notVisible(o, out.trim() ? "it holds another file there" : "the file is missing");
  } finally {
    rmSync(file, { force: true });
  }
}
