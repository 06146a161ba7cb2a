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

/**
 * `describe` for suites that need a real Docker daemon. Without one they print a visible
 * SKIPPED line, or fail when NESTBOX_REQUIRE_DOCKER=1 (CI).
 */
export function describeDocker(name: string, body: () => void): void {
  if (version) {
    describe(name, body);
    return;
  }
  if (required) {
    describe(name, () => {
      it("needs a Docker daemon", () => {
        throw new Error(
          "NESTBOX_REQUIRE_DOCKER=1 but no Docker daemon answers: run scripts/install-docker.sh",
        );
      });
    });
    return;
  }
  process.stderr.write(`SKIPPED (no Docker daemon): ${name}\n`);
  describe.skip(name, body);
}
