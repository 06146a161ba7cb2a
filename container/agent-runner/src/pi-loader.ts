// Loads pi's CommonJS bundle (dist/pi.cjs, build/bundle-pi.mjs) through V8's code cache
// (dist/pi.cache, made at image build by src/make-code-cache.ts): V8 then skips compiling the
// bundle's functions it already compiled once. A missing or rejected cache only costs that time.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import vm from "node:vm";

/** The parameters of the function the bundle's text becomes (CommonJS's module wrapper). */
const WRAPPER_PARAMS = ["exports", "require", "module", "__filename", "__dirname"];

/** What loading the bundle did: its exports and whether V8 used the cache. */
export interface LoadedBundle {
  exports: unknown;
  /** "accepted", "rejected" (V8 refused it: other node or flags) or "absent" (no cache file). */
  cache: "accepted" | "rejected" | "absent";
  /** Makes the code cache now, covering every function of the bundle compiled so far (image build). */
  makeCache: () => Buffer;
}

/**
 * Runs the CommonJS bundle `file` with `cacheFile` as its code cache. With `produce`, the cache is
 * not read: the caller makes it later with `makeCache`, after running what it should cover.
 */
export function loadBundle(file: string, cacheFile: string, produce = false): LoadedBundle {
  const source = readFileSync(file, "utf8");
  let cachedData: Buffer | undefined;
  if (!produce) {
    try {
      cachedData = readFileSync(cacheFile);
    } catch {
      cachedData = undefined;
    }
  }
  // The bundle has no import() left (bundle-pi.mjs turns them into require()): V8 drops a script's
  // dynamic-import callback when it comes from a code cache (node 20), so one would fail there.
  const script = new vm.Script(`(function (${WRAPPER_PARAMS.join(", ")}) {${source}\n})`, {
    filename: file,
    cachedData,
  });
  const wrapper = script.runInThisContext() as (...args: unknown[]) => void;
  const module = { exports: {} as unknown };
  wrapper.call(module.exports, module.exports, createRequire(file), module, file, path.dirname(file));
  const cache = cachedData === undefined ? "absent" : script.cachedDataRejected ? "rejected" : "accepted";
  return { exports: module.exports, cache, makeCache: () => script.createCachedData() };
}
