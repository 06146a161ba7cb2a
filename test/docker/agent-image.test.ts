import path from "node:path";
import { afterAll, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import {
  agentSourcesHash,
  buildAgentImage,
  depsTag,
  ensureAgentImage,
  removePrevious,
  SOURCES_LABEL,
} from "../../src/containers/agent-image.js";
import { DockerRuntime } from "../../src/containers/docker-runtime.js";
import { detectSandbox } from "../../src/sandbox/index.js";
import { AGENT_IMAGE, BASE_IMAGE, describeDocker } from "./support.js";

const repo = path.resolve(import.meta.dirname, "..", "..");

describeDocker(
  "agent image lifecycle: labelled with its sources, rebuilt when stale, nothing left dangling",
  () => {
    const rt = new DockerRuntime();
    const tag = `nestbox-agent:stale-${process.pid}`;
    const sandbox = detectSandbox({ env: process.env });
    afterAll(async () => {
      await rt.removeImage(tag);
      await rt.removeImage(depsTag(tag));
    });

    it("a stale image (older sources label) is rebuilt on start, and the old one removed by id", async () => {
      // An "older nestbox" image: the current one with another sources label.
      await rt.buildImage({
        tag,
        files: { Dockerfile: `FROM ${AGENT_IMAGE}\n` },
        labels: { [SOURCES_LABEL]: "0".repeat(64) },
      });
      const old = await rt.inspectImage(tag);
      expect(old?.labels[SOURCES_LABEL]).toBe("0".repeat(64));
      // And the build stage an older build kept under its tag.
      await rt.buildImage({
        tag: depsTag(tag),
        files: { Dockerfile: `FROM ${AGENT_IMAGE}\nLABEL old=deps\n` },
      });
      const oldStage = await rt.inspectImage(depsTag(tag));
      const lines: string[] = [];
      const config = loadConfig({ AGENT_IMAGE: tag, AGENT_BASE_IMAGE: BASE_IMAGE }, repo);
      await ensureAgentImage(rt, config, sandbox, repo, (l) => lines.push(l));
      expect(lines[0]).toBe(`Agent image ${tag} is from an older nestbox; rebuilding...`);
      const now = await rt.inspectImage(tag);
      expect(now?.labels[SOURCES_LABEL]).toBe(agentSourcesHash(path.join(repo, "container")));
      expect(now?.id).not.toBe(old?.id);
      // The previous image and build stage are gone, not left behind untagged; the new stage is tagged.
      expect(await rt.inspectImage(old?.id ?? "")).toBeNull();
      expect(await rt.inspectImage(oldStage?.id ?? "")).toBeNull();
      expect((await rt.inspectImage(depsTag(tag)))?.id).not.toBe(oldStage?.id);
      expect(lines).toContain(`Removed the previous ${tag} image ${old?.id.slice(0, 19)}.`);
      // A current image is left alone: no build, no output.
      const again: string[] = [];
      await ensureAgentImage(rt, config, sandbox, repo, (l) => again.push(l));
      expect(again).toEqual([]);
    }, 300_000);

    it("never removes a replaced image that another tag still names (the engine would delete it by id)", async () => {
      const [a, b] = [`${tag}-a`, `${tag}-b`];
      const files = { Dockerfile: `FROM ${AGENT_IMAGE}\nLABEL shared=${process.pid}\n` };
      try {
        await rt.buildImage({ tag: a, files });
        await rt.buildImage({ tag: b, files });
        const shared = await rt.inspectImage(a);
        expect((await rt.inspectImage(b))?.id).toBe(shared?.id);
        await rt.buildImage({
          tag: a,
          files: { Dockerfile: `FROM ${AGENT_IMAGE}\nLABEL moved=${process.pid}\n` },
        });
        await removePrevious(rt, a, shared?.id ?? "", () => {});
        expect((await rt.inspectImage(b))?.id).toBe(shared?.id);
      } finally {
        await rt.removeImage(a);
        await rt.removeImage(b);
      }
    });

    it("a build that cannot get its base image names AGENT_BASE_IMAGE, make-base-image.sh and --base", async () => {
      const build = buildAgentImage(rt, {
        contextDir: path.join(repo, "container"),
        tag: `nestbox-agent:nobase-${process.pid}`,
        baseImage: "nestbox-no-registry.invalid/base:none",
        sandbox,
      });
      await expect(build).rejects.toMatchObject({ code: "BASE_IMAGE_UNAVAILABLE" });
      await expect(build).rejects.toThrow(/AGENT_BASE_IMAGE=nestbox-base:local/);
      await expect(build).rejects.toThrow(/bash scripts\/make-base-image.sh/);
      await expect(build).rejects.toThrow(/setup -- container --base/);
    }, 120_000);
  },
);
