import { expect, it } from "vitest";
import { silentLogger } from "../log.js";
import type { ContainerInfo, ContainerRuntime } from "./container-runtime.js";
import { Reaper } from "./reaper.js";

/** An engine holding one orphan-looking agent container of install abcd1234; records removals. */
function engine() {
  const removed: string[] = [];
  const runtime = {
    list: async () =>
      [
        { id: "c1", name: "nestbox-abcd1234-family-aaaaaa", labels: { "nestbox.install": "abcd1234" } },
      ] as unknown as ContainerInfo[],
    remove: async (id: string) => {
      removed.push(id);
    },
  } as unknown as ContainerRuntime;
  return { runtime, removed };
}

const reaper = (runtime: ContainerRuntime, holds: boolean) =>
  new Reaper({
    runtime,
    installId: "abcd1234",
    owned: () => new Set(),
    holdsDataFolder: () => holds,
    ownContainerId: null,
    log: silentLogger(),
  });

it("a process that does not hold the data folder's lock removes nothing, even containers it does not own", async () => {
  const e = engine();
  expect(await reaper(e.runtime, false).reap()).toEqual([]);
  expect(e.removed).toEqual([]);
});

it("the lock holder removes the install's containers its supervisor does not own", async () => {
  const e = engine();
  expect(await reaper(e.runtime, true).reap()).toEqual(["nestbox-abcd1234-family-aaaaaa"]);
  expect(e.removed).toEqual(["c1"]);
});

it("leaves a swarm task's container alone: its service is what the swarm runtime's reaper removes", async () => {
  const removed: string[] = [];
  const runtime = {
    list: async () =>
      [
        {
          id: "t1",
          name: "nestbox-abcd1234-family-bbbbbb.1.x",
          labels: { "nestbox.install": "abcd1234", "com.docker.swarm.service.id": "svc1" },
        },
      ] as unknown as ContainerInfo[],
    remove: async (id: string) => {
      removed.push(id);
    },
  } as unknown as ContainerRuntime;
  expect(await reaper(runtime, true).reap()).toEqual([]);
  expect(removed).toEqual([]);
});
