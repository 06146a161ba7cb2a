import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { DockerRuntime } from "../../src/containers/docker-runtime.js";
import { type ScriptedLlm, startScriptedLlm } from "../doubles/scripted-llm.js";
import { startHost } from "../process.js";
import { BASE_IMAGE, describeDocker } from "./support.js";

describeDocker("first start: the agent image is built when missing, with progress", () => {
  const tag = `nestbox-agent:first-start-${process.pid}`;
  let llm: ScriptedLlm;
  let cwd: string;
  beforeAll(async () => {
    llm = await startScriptedLlm({
      format: "openai",
      host: "127.0.0.1",
      respond: () => ({ text: "built and answering" }),
    });
    cwd = mkdtempSync(path.join(tmpdir(), "nestbox-first-"));
  });
  afterAll(async () => {
    await llm.close();
    rmSync(cwd, { recursive: true, force: true });
    await new DockerRuntime().removeImage(tag);
    await new DockerRuntime().removeImage(`${tag}-deps`);
  });

  it("builds the image (from AGENT_BASE_IMAGE), then answers", async () => {
    const docker = new DockerRuntime();
    expect(await docker.imageExists(tag)).toBe(false);
    const host = startHost(cwd, {
      MODEL: "scripted",
      OPENAI_BASE_URL: llm.url,
      AGENT_IMAGE: tag,
      AGENT_BASE_IMAGE: BASE_IMAGE,
      NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS ?? "",
    });
    host.send("hello");
    host.endInput();
    expect(await host.exited()).toBe(0);
    expect(host.stderr()).toContain(`Agent image ${tag} is missing: building it (first start only)...`);
    expect(host.stderr()).toMatch(/Step \d+\/\d+ : FROM/);
    expect(host.stderr()).toContain(`Built ${tag}.`);
    expect(host.stdout()).toBe("Andy: built and answering\n");
    expect(await docker.imageExists(tag)).toBe(true);
  });
});
