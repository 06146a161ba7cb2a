// Image build step (Dockerfile, after the bundles): runs pi's bundle once, then one turn per wire
// format (cache-training.ts), and writes V8's code cache for it beside it (dist/pi.cache); `--check` (a second run) loads the bundle through it and fails the
// build if V8 rejects it. Run with the node binary and flags of the runner (the build stage has the
// final image's node).
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { runTrainingTurns } from "./cache-training.js";
import { loadBundle } from "./pi-loader.js";
import type { PiModule } from "./pi-types.js";

const bundle = fileURLToPath(new URL("../pi.cjs", import.meta.url));
const cacheFile = fileURLToPath(new URL("../pi.cache", import.meta.url));
if (process.argv.includes("--check")) {
  const { cache } = loadBundle(bundle, cacheFile);
  if (cache !== "accepted") throw new Error(`V8 did not use the code cache ${cacheFile}: ${cache}`);
  process.stdout.write(`code cache ${cacheFile} accepted\n`);
  process.exit(0);
}
// The bundle no longer sits in pi's package folder (as main.ts tells pi at run time).
process.env.PI_PACKAGE_DIR ??= fileURLToPath(
  new URL("../../node_modules/@mariozechner/pi-coding-agent", import.meta.url),
);
const loaded = loadBundle(bundle, cacheFile, true);
await runTrainingTurns(loaded.exports as PiModule);
const made = loaded.makeCache();
writeFileSync(cacheFile, made);
process.stdout.write(`code cache for ${bundle} after training turns: ${made.length} bytes\n`);
process.exit(0); // pi may leave timers behind
