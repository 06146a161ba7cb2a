import { mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, expect, it } from "vitest";
import { DockerRuntime } from "../../src/containers/docker-runtime.js";
import { probeDataVisibility } from "../../src/containers/probe.js";
import { AGENT_IMAGE, describeDocker } from "./support.js";

describeDocker("startup probe: the daemon must see data/", () => {
  const rt = new DockerRuntime();
  const root = mkdtempSync(path.join(tmpdir(), "nestbox-probe-"));
  const dataDir = path.join(root, "data");
  mkdirSync(dataDir);
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("passes when a container reads back the file written under data/, leaving nothing behind", async () => {
    await probeDataVisibility(rt, { image: AGENT_IMAGE, dataDir, hostDataDir: null });
    expect(readdirSync(dataDir)).toEqual([]);
    expect(await rt.list({ "nestbox.probe": "1" })).toEqual([]);
  });

  it("fails fast, naming NESTBOX_HOST_DATA_DIR, when the daemon's path is wrong", async () => {
    const wrong = path.join(root, "elsewhere");
    mkdirSync(wrong);
    const probe = probeDataVisibility(rt, { image: AGENT_IMAGE, dataDir, hostDataDir: wrong });
    await expect(probe).rejects.toThrow(
      /cannot see nestbox's data folder at .*elsewhere \(NESTBOX_HOST_DATA_DIR\)/,
    );
    await expect(probe).rejects.toThrow(/set NESTBOX_HOST_DATA_DIR to its path on that host/);
    const missing = probeDataVisibility(rt, {
      image: AGENT_IMAGE,
      dataDir,
      hostDataDir: "/no/such/nestbox/data",
    });
    await expect(missing).rejects.toMatchObject({ code: "DATA_NOT_VISIBLE" });
    expect(readdirSync(dataDir)).toEqual([]);
    expect(await rt.list({ "nestbox.probe": "1" })).toEqual([]);
  });

  it("does not blame the data folder for a missing image", async () => {
    const probe = probeDataVisibility(rt, { image: "nestbox-missing:none", dataDir, hostDataDir: null });
    await expect(probe).rejects.toThrow(/No such image: nestbox-missing:none/);
    await expect(probe).rejects.not.toMatchObject({ code: "DATA_NOT_VISIBLE" });
  });
});
