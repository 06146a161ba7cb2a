import { execFile } from "node:child_process";
import { promisify } from "node:util";

const exec = promisify(execFile);

/** Names the docker CLI lists for `args`; [] when the command fails (e.g. services off a swarm). */
async function names(args: string[]): Promise<string[]> {
  try {
    const { stdout } = await exec("docker", args);
    return stdout.split("\n").filter(Boolean);
  } catch {
    return [];
  }
}

/**
 * What a conformance run left on the engine: containers, services and volumes labelled
 * `nestbox.conformance=<run>`, networks and volumes named `conformance-<run>-*`. Asked of the docker CLI,
 * not of the runtime under test.
 */
export async function conformanceLeftovers(run: string): Promise<string[]> {
  const label = `label=nestbox.conformance=${run}`;
  const [containers, services, volumes, namedVolumes, networks] = await Promise.all([
    names(["ps", "-a", "--filter", label, "--format", "container {{.Names}}"]),
    names(["service", "ls", "--filter", label, "--format", "service {{.Name}}"]),
    names(["volume", "ls", "--filter", label, "--format", "volume {{.Name}}"]),
    // A service's volume mount creates a missing volume itself, without labels: found by name.
    names(["volume", "ls", "--filter", `name=conformance-${run}`, "--format", "volume {{.Name}}"]),
    names(["network", "ls", "--filter", `name=conformance-${run}`, "--format", "network {{.Name}}"]),
  ]);
  return [...new Set([...containers, ...services, ...volumes, ...namedVolumes, ...networks])];
}
