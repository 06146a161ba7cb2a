import { describe, it } from "vitest";
import { DockerRuntime } from "../../src/containers/docker-runtime.js";

/** The registry-free base image `scripts/make-base-image.sh` builds (CI builds it first). */
export const BASE_IMAGE = process.env.NESTBOX_TEST_BASE_IMAGE ?? "nestbox-base:local";
/** The agent image `npm run setup -- container` builds. */
export const AGENT_IMAGE = process.env.NESTBOX_TEST_AGENT_IMAGE ?? "nestbox-agent:test";

let reachable: Promise<string | null> | null = null;

/** The daemon's version, or null when no Docker engine answers. */
export function dockerVersion(): Promise<string | null> {
  reachable ??= new DockerRuntime().version().catch(() => null);
  return reachable;
}

const required = process.env.NESTBOX_REQUIRE_DOCKER === "1";
const version = await dockerVersion();
const missing = version
  ? (
      await Promise.all(
        [BASE_IMAGE, AGENT_IMAGE].map(async (tag) =>
          (await new DockerRuntime().imageExists(tag)) ? null : tag,
        ),
      )
    ).filter((t): t is string => t !== null)
  : [];
const BUILD_HINT = `bash scripts/make-base-image.sh ${BASE_IMAGE} && npm run setup -- container --base ${BASE_IMAGE} --tag ${AGENT_IMAGE}`;

/**
 * `describe` for suites that need a real Docker daemon and the test images. Without them they
 * print a visible SKIPPED line saying how to get them, or fail when NESTBOX_REQUIRE_DOCKER=1 (CI).
 */
export function describeDocker(name: string, body: () => void): void {
  if (version && missing.length === 0) {
    describe(name, body);
    return;
  }
  const why = version
    ? `test image(s) ${missing.join(", ")} missing: ${BUILD_HINT}`
    : "no Docker daemon: run scripts/install-docker.sh";
  if (required) {
    describe(name, () => {
      it("needs a Docker daemon and the test images", () => {
        throw new Error(`NESTBOX_REQUIRE_DOCKER=1 but ${why}`);
      });
    });
    return;
  }
  process.stderr.write(`SKIPPED (${why}): ${name}\n`);
  describe.skip(name, body);
}
