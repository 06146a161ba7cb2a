import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll } from "vitest";

const exec = promisify(execFile);

/** The local daemon's swarm state (`inactive`, `active`, ...). */
export async function swarmState(): Promise<string> {
  const { stdout } = await exec("docker", ["info", "--format", "{{.Swarm.LocalNodeState}}"]);
  return stdout.trim();
}

/**
 * Makes the local daemon a swarm manager for the enclosing describe: `docker swarm init
 * --advertise-addr 127.0.0.1` when it is not in a swarm, and `docker swarm leave --force` after
 * only when this call initialised it (a swarm someone else set up is theirs to leave).
 */
export function withSwarm(): void {
  let initialised = false;
  beforeAll(async () => {
    if ((await swarmState()) === "active") return;
    await exec("docker", ["swarm", "init", "--advertise-addr", "127.0.0.1"]);
    initialised = true;
  });
  afterAll(async () => {
    if (initialised) await exec("docker", ["swarm", "leave", "--force"]);
  });
}
