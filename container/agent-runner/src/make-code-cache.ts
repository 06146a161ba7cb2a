// Image build step (Dockerfile, after the bundles): runs pi's bundle once and writes V8's code cache
// for it beside it (dist/pi.cache); `--check` (a second run) loads the bundle through it and fails the
// build if V8 rejects it. Run with the node binary and flags of the runner (the build stage has the
// final image's node).
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { loadBundle } from "./pi-loader.js";

const bundle = fileURLToPath(new URL("../pi.cjs", import.meta.url));
const cacheFile = fileURLToPath(new URL("../pi.cache", import.meta.url));
if (process.argv.includes("--check")) {
  const { cache } = loadBundle(bundle, cacheFile);
  if (cache !== "accepted") throw new Error(`V8 did not use the code cache ${cacheFile}: ${cache}`);
  process.stdout.write(`code cache ${cacheFile} accepted\n`);
  process.exit(0);
}
const made = loadBundle(bundle, cacheFile, true);
if (!made.produced) throw new Error("V8 made no code cache");
writeFileSync(cacheFile, made.produced);
process.stdout.write(`code cache for ${bundle}: ${made.produced.length} bytes\n`);
process.exit(0); // pi may leave timers behind
