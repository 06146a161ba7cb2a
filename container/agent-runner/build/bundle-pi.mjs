// Bundles pi and its dependencies into one CommonJS file, dist/pi.cjs, at image build time. Loading
// one bundle instead of hundreds of small modules roughly halves the runner's cold start (measured:
// ~1.8 s -> ~0.75 s on 2 cores), and a CommonJS script (unlike an ES module in node 20) can be run
// through V8's code cache (src/pi-loader.ts; the cache is made by src/make-code-cache.ts). Providers
// pi loads lazily stay lazy inside the file (esbuild runs a module's body on its first import()).
// The Mistral SDK's optional OpenTelemetry import stays external (only that provider would need it).
import { build } from "esbuild";
import { piStubsPlugin } from "./pi-stubs.mjs";

await build({
  stdin: {
    contents: 'export * from "@mariozechner/pi-coding-agent";',
    resolveDir: process.cwd(),
    loader: "js",
  },
  bundle: true,
  format: "cjs",
  platform: "node",
  target: "node20",
  outfile: "dist/pi.cjs",
  external: ["@opentelemetry/api"],
  // No import() left: esbuild turns each into require() (V8 drops a script's dynamic-import callback
  // when the script comes from a code cache, so an import() would fail there).
  supported: { "dynamic-import": false },
  // pi's modules read import.meta.url; in one CommonJS file it is the bundle's own URL.
  define: { "import.meta.url": "__nestboxImportMetaUrl" },
  banner: {
    js: "var __nestboxImportMetaUrl = require('node:url').pathToFileURL(__filename).href;",
  },
  // Less text to read and hash at each start; names stay, so stack traces stay readable.
  minifyWhitespace: true,
  plugins: [piStubsPlugin],
  logLevel: "warning",
});
