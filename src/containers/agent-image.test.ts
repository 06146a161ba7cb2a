import { readdirSync } from "node:fs";
import path from "node:path";
import { expect, it } from "vitest";
import { detectSandbox } from "../sandbox/index.js";
import { agentBuildContext } from "./agent-image.js";

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
