import { afterAll, expect, it } from "vitest";
import { LABELS } from "../../src/containers/agent-spec.js";
import { DockerRuntime } from "../../src/containers/docker-runtime.js";
import { Reaper } from "../../src/containers/reaper.js";
import { silentLogger } from "../../src/log.js";
import { detectOwnContainer } from "../../src/sandbox/index.js";
import { BASE_IMAGE, describeDocker } from "./support.js";

const run = Date.now().toString(36);
const install = `r${run}`;

describeDocker("reaper decoys on the real daemon", () => {
  const rt = new DockerRuntime();
  const made: string[] = [];
  const make = async (name: string, labels: Record<string, string>) => {
    const id = await rt.create({
      name: `${name}-${run}`,
      image: BASE_IMAGE,
      labels,
      env: {},
      mounts: [],
      cmd: ["sleep", "300"],
      init: true,
    });
    await rt.start(id);
    made.push(id);
    return id;
  };
  afterAll(async () => {
    for (const id of made) await rt.remove(id);
  });

  it("removes only this install's containers that nobody owns", async () => {
    const stale = await make(`nestbox-${install}-stale`, {
      [LABELS.install]: install,
      [LABELS.folder]: "stale",
    });
    const owned = await make(`nestbox-${install}-owned`, {
      [LABELS.install]: install,
      [LABELS.folder]: "owned",
    });
    const otherInstall = await make(`nestbox-other-${install}`, {
      [LABELS.install]: `other${run}`,
      [LABELS.folder]: "x",
    });
    const unlabelled = await make(`nestbox-${install}-unlabelled`, {});
    // The container nestbox itself runs in (a sandbox), named and labelled like an agent of this install.
    const self = await make(`nestbox-${install}-sandbox`, { [LABELS.install]: install });
    const reaper = new Reaper({
      runtime: rt,
      installId: install,
      owned: () => new Set([owned]),
      holdsDataFolder: () => true,
      ownContainerId: self.slice(0, 12),
      log: silentLogger(),
    });
    const removed = await reaper.reap();
    expect(removed).toEqual([`nestbox-${install}-stale-${run}`]);
    expect(await rt.inspect(stale)).toBeNull();
    for (const id of [owned, otherInstall, unlabelled, self])
      expect((await rt.inspect(id))?.running).toBe(true);
  });

  it("recognises the container it runs in from /proc/self/cgroup, mountinfo and hostname", async () => {
    const id = await rt.create({
      name: `nestbox-${install}-probe`,
      image: BASE_IMAGE,
      labels: {},
      env: {},
      mounts: [],
      cmd: ["sh", "-c", "cat /proc/self/cgroup; echo ===; cat /proc/self/mountinfo; echo ===; hostname"],
    });
    made.push(id);
    const io = await rt.attach(id);
    let out = "";
    io.stdout.on("data", (d: Buffer) => (out += d.toString()));
    await rt.start(id);
    await rt.wait(id);
    await new Promise((r) => setTimeout(r, 200));
    const [cgroup, mountinfo, hostname] = out.split("===\n") as [string, string, string];
    const files: Record<string, string> = {
      "/proc/self/cgroup": cgroup,
      "/proc/self/mountinfo": mountinfo,
      "/.dockerenv": "",
    };
    const detected = detectOwnContainer((p) => files[p] ?? null, hostname.trim());
    expect(detected && id.startsWith(detected)).toBe(true);
    expect(detectOwnContainer(() => null, "my-laptop")).toBeNull();
  });
});
