import { appendFileSync, cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect, it } from "vitest";
import { PipeRuntime } from "../../test/doubles/pipe-runtime.js";
import { detectSandbox } from "../sandbox/index.js";
import { agentBuildContext, agentImageState, agentSourcesHash } from "./agent-image.js";

const repo = path.resolve(import.meta.dirname, "..", "..");

it("builds the image from the runner's TypeScript and the one protocol source; no tests, no hand-kept types", () => {
  const sandbox = detectSandbox({ env: {}, readFile: () => null, listDir: () => [] });
  const files = Object.keys(agentBuildContext(path.join(repo, "container"), sandbox));
  const protocol = readdirSync(path.join(repo, "src", "protocol")).filter((f) => !f.endsWith(".test.ts"));
  expect(files.filter((f) => f.startsWith("protocol/")).sort()).toEqual(
    protocol.map((f) => `protocol/${f}`).sort(),
  );
  expect(files).toEqual(
    expect.arrayContaining([
      "Dockerfile",
      "agent-runner/package-lock.json",
      "agent-runner/src/main.ts",
      "agent-runner/src/serve.ts",
      "agent-runner/build/bundle-runner.mjs",
      "build-ca/.keep",
    ]),
  );
  expect(files.filter((f) => /\.test\.ts$|\.d\.ts$|\.js$|node_modules/.test(f))).toEqual([]);
});

it("hashes the image's own sources: any runner or protocol change makes a new hash, the build CA does not", () => {
  const tmp = mkdtempSync(path.join(tmpdir(), "nestbox-hash-"));
  try {
    const skip = (p: string) => !p.includes("node_modules");
    cpSync(path.join(repo, "container"), path.join(tmp, "container"), { recursive: true, filter: skip });
    cpSync(path.join(repo, "src", "protocol"), path.join(tmp, "src", "protocol"), { recursive: true });
    const dir = path.join(tmp, "container");
    const first = agentSourcesHash(dir);
    expect(first).toMatch(/^[0-9a-f]{64}$/);
    expect(agentSourcesHash(dir)).toBe(first);
    writeFileSync(path.join(dir, "build-ca", "extra.pem"), "not part of the image's version");
    expect(agentSourcesHash(dir)).toBe(first);
    appendFileSync(path.join(tmp, "src", "protocol", "frames.ts"), "\n// changed\n");
    const second = agentSourcesHash(dir);
    expect(second).not.toBe(first);
    appendFileSync(path.join(dir, "agent-runner", "src", "serve.ts"), "\n// changed\n");
    expect(agentSourcesHash(dir)).not.toBe(second);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

it("an image whose sources are not there to compare with is left as it is", async () => {
  const rt = new PipeRuntime(() => {});
  const state = await agentImageState(
    rt,
    "nestbox-agent:latest",
    path.join(tmpdir(), "no-such-nestbox", "container"),
  );
  expect(state).toEqual({ state: "unknown", id: "sha256:nestbox-agent:latest" });
});
