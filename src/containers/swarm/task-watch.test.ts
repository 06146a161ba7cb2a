import { describe, expect, it } from "vitest";
import { ContainerError } from "../../errors.js";
import type { ServiceView, TaskView } from "./engine.js";
import { exitCodeOf, isTerminal } from "./service-spec.js";
import { TaskWatch } from "./task-watch.js";

/** An engine holding services and their one task each, counting its list calls. */
function engine() {
  const tasks = new Map<string, TaskView>();
  const calls: string[][] = [];
  let failing = false;
  const e = {
    calls,
    set(service: string, state: string, exit = 0) {
      tasks.set(service, {
        ID: `${service}-task`,
        ServiceID: service,
        CreatedAt: "2026-12-01T10:00:00Z",
        DesiredState: "running",
        Status: { State: state, ContainerStatus: { ExitCode: exit } },
      });
    },
    drop(service: string) {
      tasks.delete(service);
    },
    fail(on: boolean) {
      failing = on;
    },
    async listTasks(filters: { service?: string[] }): Promise<TaskView[]> {
      const ids = filters.service ?? [];
      calls.push(ids);
      if (failing) throw new ContainerError("DOCKER_UNREACHABLE", "engine down");
      const missing = ids.find((id) => !tasks.has(id));
      if (missing) throw new ContainerError("DOCKER_404", `service ${missing} not found`);
      return ids.flatMap((id) => [tasks.get(id)].filter((t): t is TaskView => t !== undefined));
    },
    async listServices(filters: { id?: string[] }): Promise<ServiceView[]> {
      return (filters.id ?? []).filter((id) => tasks.has(id)).map((ID) => ({ ID }) as ServiceView);
    },
  };
  return e;
}

const exitOf = (t: TaskView | undefined, gone: boolean) => {
  if (t && isTerminal(t)) return exitCodeOf(t);
  return gone ? -1 : undefined;
};

describe("TaskWatch", () => {
  it("polls once per tick for every watched service, however many waiters, and stops when none is left", async () => {
    const e = engine();
    for (const s of ["a", "b", "c"]) e.set(s, "running");
    const watch = new TaskWatch(e, 5);
    const waits = [
      watch.until("a", exitOf),
      watch.until("a", exitOf),
      watch.until("b", exitOf),
      watch.until("c", exitOf),
    ];
    await new Promise((r) => setTimeout(r, 40));
    expect(e.calls.length).toBeGreaterThan(1);
    expect(e.calls.every((ids) => ids.length === 3)).toBe(true);
    e.set("a", "failed", 3);
    e.set("b", "complete", 0);
    e.set("c", "failed", 137);
    expect(await Promise.all(waits)).toEqual([3, 3, 0, 137]);
    expect(watch.watched).toBe(0);
    const after = e.calls.length;
    await new Promise((r) => setTimeout(r, 40));
    expect(e.calls.length).toBe(after);
  });

  it("ends the watch of a service that is removed, while the others go on", async () => {
    const e = engine();
    e.set("a", "running");
    e.set("b", "running");
    const watch = new TaskWatch(e, 5);
    const a = watch.until("a", exitOf);
    const b = watch.until("b", exitOf);
    await new Promise((r) => setTimeout(r, 20));
    e.drop("a");
    expect(await a).toBe(-1);
    e.set("b", "failed", 2);
    expect(await b).toBe(2);
  });

  it("rides out an engine that is briefly unreachable, and gives up on one that stays so", async () => {
    const e = engine();
    e.set("a", "running");
    const watch = new TaskWatch(e, 1);
    e.fail(true);
    const a = watch.until("a", exitOf);
    await new Promise((r) => setTimeout(r, 5));
    e.fail(false);
    e.set("a", "complete");
    expect(await a).toBe(0);
    e.fail(true);
    await expect(watch.until("a", () => undefined)).rejects.toThrow(/engine down/);
    expect(watch.watched).toBe(0);
  });
});
