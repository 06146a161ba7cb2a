import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type PipeContainer, PipeRuntime } from "../../test/doubles/pipe-runtime.js";
import { ContainerError } from "../errors.js";
import { probeDataVisibility, uncrossable } from "./probe.js";

/** Plays `cat /probe/.nestbox-probe` against the host path the probe mounted. */
function cat(c: PipeContainer): void {
  const file = path.join(c.spec.mounts[0]?.hostPath ?? "/nowhere", ".nestbox-probe");
  if (existsSync(file)) c.stdout.write(readFileSync(file));
  else c.stderr.write("cat: no such file\n");
  c.exit(existsSync(file) ? 0 : 1);
}

let root: string;
beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), "nestbox-probe-unit-"));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe("probeDataVisibility over ContainerRuntime.run", () => {
  it("passes when the container reads back the token, and leaves no file behind", async () => {
    const rt = new PipeRuntime(cat);
    await probeDataVisibility(rt, { image: "img", dataDir: root, hostDataDir: null });
    expect(rt.containers.map((c) => c.spec.network)).toEqual(["none"]);
    expect(readdirSync(root)).toEqual([]);
  });

  it("reads as the agents' user, over a fresh subfolder of data/, never the whole data folder", async () => {
    const rt = new PipeRuntime(cat);
    await probeDataVisibility(rt, {
      image: "img",
      dataDir: root,
      hostDataDir: null,
      owner: { uid: 4242, gid: 4343 },
    });
    const spec = rt.containers[0]?.spec;
    expect(spec?.user).toBe("4242:4343");
    expect(path.dirname(spec?.mounts[0]?.hostPath ?? "")).toBe(root);
    expect(spec?.mounts[0]?.hostPath).not.toBe(root);
  });

  it("reads the probe's stderr: permission denied gets the chmod hint with the exact path, no nested story", async () => {
    const rt = new PipeRuntime((c) => {
      c.stderr.write("cat: /probe/.nestbox-probe: Permission denied\n");
      c.exit(1);
    });
    const probe = probeDataVisibility(rt, { image: "img", dataDir: root, hostDataDir: null });
    await expect(probe).rejects.toMatchObject({ code: "DATA_PERMISSION_DENIED" });
    const message = await probe.catch((e: Error) => e.message);
    expect(message).toContain(`permission denied: the agents' user`);
    // mkdtemp made the data folder 0700: that is the folder to open.
    expect(message).toContain(`Fix: chmod o+x ${root} (or`);
    expect(message).not.toMatch(/nested|another Docker daemon|NESTBOX_HOST_DATA_DIR/);
  });

  it("tells the nested-daemon story only when nestbox runs in a container or DOCKER_HOST is remote", async () => {
    const empty = () =>
      new PipeRuntime((c) => {
        c.stderr.write("cat: can't open '/probe/.nestbox-probe': No such file or directory\n");
        c.exit(1);
      });
    const plain = probeDataVisibility(empty(), { image: "img", dataDir: root, hostDataDir: null });
    await expect(plain).rejects.toMatchObject({ code: "DATA_NOT_VISIBLE" });
    await expect(plain).rejects.not.toThrow(/another Docker daemon/);
    await expect(plain).rejects.toThrow(/File sharing/);
    for (const where of [
      { ownContainerId: "a".repeat(64), dockerHost: null },
      { ownContainerId: null, dockerHost: "tcp://10.0.0.2:2375" },
    ]) {
      const nested = probeDataVisibility(empty(), { image: "img", dataDir: root, hostDataDir: null, where });
      await expect(nested).rejects.toThrow(/another Docker daemon .*NESTBOX_HOST_DATA_DIR/);
    }
    const local = probeDataVisibility(empty(), {
      image: "img",
      dataDir: root,
      hostDataDir: null,
      where: { ownContainerId: null, dockerHost: "unix:///run/user/1000/docker.sock" },
    });
    await expect(local).rejects.not.toThrow(/another Docker daemon/);
    expect(readdirSync(root)).toEqual([]);
  });

  it("a daemon refused at the bind source: names each folder on the way that others cannot cross", async () => {
    const dataDir = path.join(root, "home", "nestbox", "data");
    mkdirSync(dataDir, { recursive: true });
    chmodSync(path.join(root, "home"), 0o700);
    chmodSync(root, 0o755);
    chmodSync(dataDir, 0o700);
    const rt = new PipeRuntime(cat);
    rt.run = async () => {
      throw new ContainerError("DOCKER_500", "cannot start container: mount src=...: permission denied");
    };
    const probe = probeDataVisibility(rt, { image: "img", dataDir, hostDataDir: null });
    await expect(probe).rejects.toMatchObject({ code: "DATA_PERMISSION_DENIED" });
    await expect(probe).rejects.toThrow(`Fix: chmod o+x ${path.join(root, "home")} ${dataDir} (or`);
    expect(uncrossable(dataDir)).toEqual([path.join(root, "home"), dataDir]);
  });

  it("fails with DATA_NOT_VISIBLE when the daemon's path shows no file", async () => {
    const rt = new PipeRuntime(cat);
    const probe = probeDataVisibility(rt, { image: "img", dataDir: root, hostDataDir: path.join(root, "x") });
    await expect(probe).rejects.toMatchObject({ code: "DATA_NOT_VISIBLE" });
    await expect(probe).rejects.toThrow(/the file is missing/);
  });

  it("fails when the container reads another file there", async () => {
    const rt = new PipeRuntime((c) => {
      c.stdout.write("someone else's token\n");
      c.exit(0);
    });
    const probe = probeDataVisibility(rt, { image: "img", dataDir: root, hostDataDir: null });
    await expect(probe).rejects.toThrow(/it holds another file there/);
  });
});
