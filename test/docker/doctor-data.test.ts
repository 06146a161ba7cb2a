import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { CommandIO } from "../../src/cli/io.js";
import { DockerRuntime } from "../../src/containers/docker-runtime.js";
import { probeDataVisibility } from "../../src/containers/probe.js";
import { runSetup } from "../../src/setup/cli.js";
import { type ScriptedLlm, startScriptedLlm } from "../doubles/scripted-llm.js";
import { startHost } from "../process.js";
import { AGENT_IMAGE, describeDocker } from "./support.js";

describeDocker("a 0700 data folder: agents mount its subfolders, so it is not refused", () => {
  const rt = new DockerRuntime();
  let llm: ScriptedLlm;
  let cwd: string;
  let dataDir: string;
  beforeAll(async () => {
    llm = await startScriptedLlm({ format: "openai", host: "0.0.0.0", respond: () => ({ text: "fine" }) });
    cwd = mkdtempSync(path.join(tmpdir(), "nestbox-0700-"));
    dataDir = path.join(cwd, "data");
    mkdirSync(dataDir);
    chmodSync(dataDir, 0o700);
  });
  afterAll(async () => {
    await llm.close();
    rmSync(cwd, { recursive: true, force: true });
  });

  it("the probe passes (as the agents' user, over a subfolder), leaving nothing behind", async () => {
    await probeDataVisibility(rt, { image: AGENT_IMAGE, dataDir, hostDataDir: null });
    expect(readdirSync(dataDir)).toEqual([]);
    expect(await rt.list({ "nestbox.probe": "1" })).toEqual([]);
  });

  it("setup verify says ok for the data folder and never tells the nested-daemon story", async () => {
    let stdout = "";
    const io: CommandIO = {
      stdout: { write: (t: string) => (stdout += t) },
      stderr: { write: () => true },
      env: { AGENT_IMAGE, MODEL: "m", OPENAI_BASE_URL: llm.url, NESTBOX_DATA_DIR: dataDir },
      cwd,
    };
    await runSetup(["verify"], io);
    expect(stdout).toMatch(/^ok +data folder/m);
    expect(stdout).not.toMatch(/nested|another Docker daemon|socket-mounted/);
  });

  it("nestbox start is not refused and answers", async () => {
    const host = startHost(cwd, { MODEL: "scripted", OPENAI_BASE_URL: llm.url, AGENT_IMAGE });
    host.send("hello");
    host.endInput();
    expect(await host.exited()).toBe(0);
    expect(host.stdout()).toBe("Andy: fine\n");
  });
});
