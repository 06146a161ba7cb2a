// Modules of pi's dependencies the runner never runs, replaced in the bundle (build/bundle-pi.mjs) by
// small stand-ins: their start-up work was about 40% of loading pi (measured with --cpu-prof in the
// agent image). jiti (with Babel) loads pi extensions, and the runner loads none (agent.ts gives pi a
// resource loader without extensions); cli-highlight colours code in pi's terminal UI; extract-zip
// unpacks tools pi downloads for its find/grep tools, which the runner does not enable.
// A stand-in that is called anyway says so, instead of doing something else.
const unavailable = (what) =>
  `throw new Error("${what} is left out of the nestbox agent runner's pi bundle (container/agent-runner/build/pi-stubs.mjs)");`;

/** Module specifier -> the ES module source that replaces it. */
export const PI_STUBS = {
  "jiti/static": `export function createJiti() { ${unavailable("jiti (pi extensions)")} }`,
  "cli-highlight":
    "export function highlight(code) { return code; }\nexport function supportsLanguage() { return false; }",
  "extract-zip": `export default async function extractZip() { ${unavailable("extract-zip")} }`,
};

/** The esbuild plugin that resolves each stubbed specifier to its stand-in. */
export const piStubsPlugin = {
  name: "nestbox-pi-stubs",
  setup(build) {
    const names = Object.keys(PI_STUBS).map((n) => n.replace(/[/.-]/g, "\\$&"));
    build.onResolve({ filter: new RegExp(`^(${names.join("|")})$`) }, (args) => ({
      path: args.path,
      namespace: "nestbox-pi-stub",
    }));
    build.onLoad({ filter: /.*/, namespace: "nestbox-pi-stub" }, (args) => ({
      contents: PI_STUBS[args.path],
      loader: "js",
    }));
  },
};
