// Bundles the runner (src/*.ts) with the protocol it shares with the host (src/protocol in the
// repository, beside container/ in the build stage) into dist/runner/ at image build time.
// main.js and its static imports use Node built-ins only; serve.ts (zod) and agent.ts are loaded
// with import() after `ready`, so splitting keeps them in chunks of their own and startup stays lean.
// pi and undici stay out: pi comes from its own bundle (bundle-pi.mjs), undici from node_modules.
// make-code-cache.ts is a second entry: the image build runs it once to write pi's V8 code cache.
import { readFileSync } from "node:fs";
import path from "node:path";
import { build } from "esbuild";

const { version } = JSON.parse(readFileSync("package.json", "utf8"));

await build({
  entryPoints: ["src/main.ts", "src/make-code-cache.ts"],
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  outdir: "dist/runner",
  // src/protocol sits outside this package: its `zod` import resolves from the runner's node_modules.
  nodePaths: [path.resolve("node_modules")],
  external: ["undici", "@mariozechner/pi-coding-agent"],
  define: { NESTBOX_RUNNER_VERSION: JSON.stringify(String(version)) },
  logLevel: "warning",
});
