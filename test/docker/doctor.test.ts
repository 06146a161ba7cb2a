import { chownSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { depsTag, SOURCES_LABEL } from "../../src/containers/agent-image.js";
import { DockerRuntime } from "../../src/containers/docker-runtime.js";
import { type ScriptedLlm, startScriptedLlm } from "../doubles/scripted-llm.js";
import { runNestbox, spawnProcess, tsNode } from "../process.js";
import { AGENT_IMAGE, BASE_IMAGE, describeDocker } from "./support.js";

const repo = path.resolve(import.meta.dirname, "..", "..");

describeDocker("nestbox doctor against a real engine: a stale image, the docker group", () => {
  const rt = new DockerRuntime();
  const tag = `nestbox-agent:doctor-stale-${process.pid}`;
  let llm: ScriptedLlm;
  let cwd: string;
  beforeAll(async () => {
    llm = await startScriptedLlm({ format: "openai", host: "127.0.0.1", respond: () => ({ text: "ok" }) });
    cwd = mkdtempSync(path.join(tmpdir(), "nestbox-doctor-"));
  });
  afterAll(async () => {
    await llm.close();
    rmSync(cwd, { recursive: true, force: true });
    await rt.removeImage(tag);
    await rt.removeImage(depsTag(tag));
  });

  it("reports a stale image as a warning (exit 0); --fix rebuilds it and says so", async () => {
    await rt.buildImage({
      tag,
      files: { Dockerfile: `FROM ${AGENT_IMAGE}\n` },
      labels: { [SOURCES_LABEL]: "older" },
    });
    const old = await rt.inspectImage(tag);
    const env = {
      MODEL: "m",
      OPENAI_BASE_URL: llm.url,
      AGENT_IMAGE: tag,
      AGENT_BASE_IMAGE: BASE_IMAGE,
      // The build trusts the same CAs as the test image's build, so its layers come from the cache.
      ...Object.fromEntries(
        ["NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE", "SSL_CERT_DIR"].map((k) => [k, process.env[k] ?? ""]),
      ),
    };
    const before = await runNestbox(cwd, ["doctor"], { env });
    expect(before.stdout).toMatch(/^warn agent image: .* is from an older nestbox/m);
    expect(before.stdout).toMatch(/^ok {3}model: /m);
    expect(before.code).toBe(0);
    const fixed = await runNestbox(cwd, ["doctor", "--fix"], { env });
    expect(fixed.stderr).toContain("is from an older nestbox; rebuilding");
    expect(fixed.stdout).toMatch(new RegExp(`^ {5}fixed: built ${tag}$`, "m"));
    expect(fixed.stderr).toContain("is from an older nestbox; rebuilding");
    expect(fixed.code).toBe(0);
    const after = await runNestbox(cwd, ["doctor"], { env });
    expect(after.stdout).toMatch(/^ok {3}agent image: .* is current/m);
    expect(await rt.inspectImage(old?.id ?? "")).toBeNull();
  }, 300_000);

  it("a user outside the docker group hears: join the docker group, not: start Docker", async () => {
    const home = mkdtempSync(path.join(tmpdir(), "nestbox-nobody-"));
    chownSync(home, 65534, 65534);
    try {
      const [cmd, args] = tsNode(path.join(repo, "src/cli/nestbox.ts"), ["doctor"]);
      const p = spawnProcess(cmd, args, {
        cwd: home,
        uid: 65534,
        gid: 65534,
        env: { PATH: process.env.PATH ?? "", HOME: home, MODEL: "m", OPENAI_BASE_URL: llm.url },
      });
      p.endInput();
      expect(await p.exited()).toBe(1);
      expect(p.stdout()).toMatch(
        /^FAIL docker: permission denied on the Docker socket \/var\/run\/docker.sock/m,
      );
      expect(p.stdout()).toContain("sudo usermod -aG docker $USER, then log in again");
      expect(p.stdout()).not.toContain("start Docker");
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  }, 60_000);
});
