import { ContainerError } from "../../errors.js";
import type { SwarmEngine, TaskView } from "./engine.js";
import { isTerminal } from "./service-spec.js";

/** How long a removal waits for Swarm to drop the service's tasks. */
const REMOVE_TIMEOUT_MS = 60_000;

/**
 * Removes a service forcefully and waits until its tasks are gone. Tasks on `localNode` are killed
 * first (Swarm would grant them the stop grace) and their containers removed here: Swarm drops a
 * task before the node removes its container, and a leftover container still holds volumes and
 * networks. A service already gone is not an error.
 */
export async function removeService(
  engine: SwarmEngine,
  id: string,
  localNode: string,
  pollMs: number,
): Promise<void> {
  let tasks: TaskView[];
  try {
    tasks = await engine.listTasks({ service: [id] });
  } catch (err) {
    if (err instanceof ContainerError && err.code === "DOCKER_404") return;
    throw err;
  }
  const here = tasks.flatMap((t) => {
    const containerId = t.Status.ContainerStatus?.ContainerID;
    return containerId && t.NodeID === localNode ? [{ containerId, running: !isTerminal(t) }] : [];
  });
  for (const c of here) if (c.running) await engine.kill(c.containerId);
  await engine.removeService(id);
  for (const c of here) await engine.remove(c.containerId);
  const ids = tasks.map((t) => t.ID);
  const deadline = Date.now() + REMOVE_TIMEOUT_MS;
  while (ids.length > 0 && (await engine.listTasks({ id: ids })).length > 0) {
    if (Date.now() > deadline) {
      throw new ContainerError(
        "SWARM_REMOVE_TIMEOUT",
        `the tasks of service ${id} were still there ${REMOVE_TIMEOUT_MS / 1000} s after removal`,
      );
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
