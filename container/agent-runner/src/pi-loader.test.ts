import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { loadBundle } from "./pi-loader.js";

let dir: string;
let bundle: string;
let cacheFile: string;

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "nestbox-pi-loader-"));
  bundle = path.join(dir, "bundle.cjs");
  cacheFile = path.join(dir, "bundle.cache");
  // A CommonJS bundle as esbuild writes one: module.exports, require() of a built-in, __dirname.
  writeFileSync(
    bundle,
    'const { join } = require("node:path");\nfunction twice(n) { return n * 2; }\nmodule.exports = { twice, here: join(__dirname, "x") };\n',
  );
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

it("runs a CommonJS bundle and says when there is no cache", () => {
  const loaded = loadBundle(bundle, cacheFile);
  const exports = loaded.exports as { twice: (n: number) => number; here: string };
  expect(loaded.cache).toBe("absent");
  expect(exports.twice(21)).toBe(42);
  expect(exports.here).toBe(path.join(dir, "x"));
});

it("a cache it made is accepted by the next load; a damaged one is rejected and the bundle still runs", () => {
  // V8 keeps what it compiled per source and name in the process: each load below uses a new name
  // (same source), so V8 reads the cache file instead of reusing its own.
  const copy = (name: string) => {
    const file = path.join(dir, name);
    cpSync(bundle, file);
    return file;
  };
  const first = loadBundle(bundle, cacheFile, true);
  (first.exports as { twice: (n: number) => number }).twice(1);
  writeFileSync(cacheFile, first.makeCache());
  expect(loadBundle(copy("a.cjs"), cacheFile).cache).toBe("accepted");

  writeFileSync(cacheFile, Buffer.from("not a V8 code cache"));
  const damaged = loadBundle(copy("b.cjs"), cacheFile);
  expect(damaged.cache).toBe("rejected");
  expect((damaged.exports as { twice: (n: number) => number }).twice(2)).toBe(4);
});

it("a cache made for other source is rejected", () => {
  writeFileSync(cacheFile, loadBundle(bundle, cacheFile, true).makeCache());
  writeFileSync(
    bundle,
    "module.exports = { other: true, padding: 'a different source of another length' };\n",
  );
  const loaded = loadBundle(bundle, cacheFile);
  expect(loaded.cache).toBe("rejected");
  expect(loaded.exports).toEqual({ other: true, padding: "a different source of another length" });
});
