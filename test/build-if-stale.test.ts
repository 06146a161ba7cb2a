import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildIfStale, isStale } from "../scripts/build-if-stale.mjs";

let root: string;
const lines: string[] = [];
let builds = 0;
let buildExit = 0;
const run = () => {
  builds++;
  mkdirSync(path.join(root, "dist/src/cli"), { recursive: true });
  writeFileSync(path.join(root, "dist/src/cli/nestbox.js"), "");
  return buildExit;
};
const build = () => buildIfStale(root, run, (line) => lines.push(line));
/** Sets a file's mtime `secondsAgo` in the past (or the future when negative). */
const age = (file: string, secondsAgo: number) => {
  const t = Date.now() / 1000 - secondsAgo;
  utimesSync(path.join(root, file), t, t);
};

beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), "nestbox-prestart-"));
  mkdirSync(path.join(root, "src/cli"), { recursive: true });
  writeFileSync(path.join(root, "src/cli/nestbox.ts"), "");
  writeFileSync(path.join(root, "package.json"), "{}");
  for (const f of ["src/cli/nestbox.ts", "package.json"]) age(f, 60);
  lines.length = 0;
  builds = 0;
  buildExit = 0;
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe("npm start's prestart: build only when dist/ is stale", () => {
  it("builds a checkout that was never built, then not again while nothing changes", () => {
    expect(isStale(root)).toBe(true);
    expect(build()).toBe(0);
    expect(builds).toBe(1);
    expect(lines.join("\n")).toContain("building");
    expect(isStale(root)).toBe(false);
    expect(build()).toBe(0);
    expect(builds).toBe(1);
  });

  it("an edited source (or package.json) makes it build again; an edited test does not", () => {
    build();
    writeFileSync(path.join(root, "src/cli/args.test.ts"), "");
    age("src/cli/args.test.ts", -5);
    expect(isStale(root)).toBe(false);
    writeFileSync(path.join(root, "src/cli/args.ts"), "");
    age("src/cli/args.ts", -5);
    expect(isStale(root)).toBe(true);
    build();
    expect(builds).toBe(2);
    age("package.json", -10);
    expect(isStale(root)).toBe(true);
  });

  it("a deleted dist/ entry point is stale even with a fresh stamp", () => {
    build();
    rmSync(path.join(root, "dist/src/cli/nestbox.js"));
    expect(isStale(root)).toBe(true);
  });

  it("a failed build exits 1 with what to do, and the next start tries again", () => {
    buildExit = 2;
    expect(build()).toBe(1);
    expect(lines.at(-1)).toContain("the build failed (exit 2)");
    expect(lines.at(-1)).toContain("run npm start again");
    expect(isStale(root)).toBe(true);
  });
});
