import { chmodSync, existsSync, mkdirSync, statSync } from "node:fs";
import path from "node:path";
import type { AgentOwner } from "../agents/agent-user.js";
import type { Config } from "../config.js";
import type { ContainerRuntime } from "../containers/container-runtime.js";
import { probeDataVisibility } from "../containers/probe.js";
import { NestboxError } from "../errors.js";
import type { SandboxEnvironment } from "../sandbox/index.js";
import type { Check } from "./check.js";

/** The folders start creates under data/ (agents' folders are made per chat, beneath these). */
const FOLDERS = ["groups", path.join("groups", "global"), "sessions", "skills"];

/** Folders agents get mounted (or whose subfolders they get): they must be crossable by the agents' user. */
const CROSSED = ["", "groups", path.join("groups", "global"), "sessions", "skills", "ca"];

/** What the data-folder check uses; `docker` null: Docker or the image is missing, the probe is skipped. */
export interface DataCheckContext {
  docker: ContainerRuntime | null;
  config: Pick<Config, "dataDir" | "hostDataDir" | "agentImage">;
  sandbox: Pick<SandboxEnvironment, "ownContainerId" | "dockerHost">;
}

/** o+x on the data folder and the folders agents' mounts lie in (o+rx where agents read the folder itself). */
function chmodForAgents(dataDir: string): string[] {
  const done: string[] = [];
  for (const rel of CROSSED) {
    const dir = path.join(dataDir, rel);
    if (!existsSync(dir)) continue;
    const mode = statSync(dir).mode & 0o7777;
    const wanted = mode | (rel === "" || rel === "groups" || rel === "sessions" ? 0o001 : 0o005);
    if (wanted === mode) continue;
    chmodSync(dir, wanted);
    done.push(`chmod ${(wanted & 0o777).toString(8)} ${dir}`);
  }
  return done;
}

/**
 * The data folder exists (`--fix` creates it and its folders) and the daemon can mount its folders
 * for the agents' user (the startup probe). `--fix` answers a permission denial with the chmod it names.
 */
export async function checkDataFolder(
  c: DataCheckContext,
  o: { fix: boolean; owner: AgentOwner },
): Promise<Check> {
  const { dataDir } = c.config;
  const name = "data folder";
  const fixed: string[] = [];
  const missing = FOLDERS.filter((f) => !existsSync(path.join(dataDir, f)));
  if (!existsSync(dataDir) || missing.length > 0) {
    if (!o.fix && !existsSync(dataDir))
      return {
        name,
        status: "warn",
        detail: `${dataDir} does not exist yet (nestbox start creates it; is NESTBOX_DATA_DIR right?)`,
        fix: "--fix creates it",
      };
    if (o.fix) {
      if (!existsSync(dataDir)) missing.unshift("");
      for (const f of FOLDERS) mkdirSync(path.join(dataDir, f), { recursive: true });
      fixed.push(`created ${missing.map((f) => path.join(dataDir, f)).join(", ")}`);
    }
  }
  if (!c.docker)
    return {
      name,
      status: "warn",
      detail: `${dataDir}: not probed (needs Docker and the agent image)`,
      ...(fixed.length ? { fixed: fixed.join("; ") } : {}),
    };
  const probe = () =>
    probeDataVisibility(c.docker as ContainerRuntime, {
      image: c.config.agentImage,
      dataDir,
      hostDataDir: c.config.hostDataDir,
      owner: o.owner,
      where: c.sandbox,
    });
  let failure = await probe().then(
    () => null,
    (err: unknown) => err as Error,
  );
  if (failure && o.fix && failure instanceof NestboxError && failure.code === "DATA_PERMISSION_DENIED") {
    const changed = chmodForAgents(dataDir);
    if (changed.length) fixed.push(...changed);
    failure = await probe().then(
      () => null,
      (err: unknown) => err as Error,
    );
  }
  const extra = fixed.length ? { fixed: fixed.join("; ") } : {};
  if (!failure)
    return {
      name,
      status: "ok",
      detail: `${dataDir}: the daemon mounts its folders and the agents' user (${o.owner.uid}:${o.owner.gid}) reads them`,
      ...extra,
    };
  return { name, status: "fail", detail: failure.message, ...extra };
}
