import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type PipeContainer, PipeRuntime } from "../../test/doubles/pipe-runtime.js";
import { probeDataVisibility } from "./probe.js";

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
