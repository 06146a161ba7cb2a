// `npm start`'s prestart: builds dist/ (npm run build) only when a source is newer than the last build,
// so `start` runs compiled code with no tsx process left resident. Plain JavaScript: it runs before the build.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync, utimesSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** The file whose mtime says when dist/ was last built from the sources. */
export const STAMP = path.join("dist", ".build-stamp");

/** The newest mtime (ms) of the build's inputs: src/ (tests excluded), the tsconfigs, package.json. */
export function newestSource(root) {
  let newest = 0;
  const visit = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) visit(file);
      else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts"))
        newest = Math.max(newest, statSync(file).mtimeMs);
    }
  };
  visit(path.join(root, "src"));
  for (const name of ["tsconfig.json", "tsconfig.build.json", "package.json"]) {
    const file = path.join(root, name);
    if (existsSync(file)) newest = Math.max(newest, statSync(file).mtimeMs);
  }
  return newest;
}

/** Whether dist/ is missing or older than a source (no stamp counts as stale). */
export function isStale(root) {
  const stamp = path.join(root, STAMP);
  if (!existsSync(stamp) || !existsSync(path.join(root, "dist", "src", "cli", "nestbox.js"))) return true;
  return newestSource(root) > statSync(stamp).mtimeMs;
}

/**
 * Builds when stale; returns the exit code (0 when dist/ is fresh). The stamp carries the build's start
 * time, so a source edited during the build makes the next start build again.
 */
export function buildIfStale(root, run = defaultRun, say = (line) => process.stderr.write(`${line}\n`)) {
  if (!isStale(root)) return 0;
  say("nestbox: sources changed since the last build; building (npm run build)...");
  const started = Date.now();
  const code = run(root);
  if (code !== 0) {
    say(`nestbox: the build failed (exit ${code}); fix the errors above, then run npm start again.`);
    return 1;
  }
  const stamp = path.join(root, STAMP);
  writeFileSync(stamp, `${new Date(started).toISOString()}\n`);
  utimesSync(stamp, started / 1000, started / 1000);
  return 0;
}

function defaultRun(root) {
  const npm = process.env.npm_execpath;
  // Under npm, run its own CLI with this node; otherwise whatever npm is on PATH.
  const [cmd, args] = npm
    ? [process.execPath, [npm, "run", "--silent", "build"]]
    : ["npm", ["run", "--silent", "build"]];
  const result = spawnSync(cmd, args, { cwd: root, stdio: "inherit" });
  return result.status ?? 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = buildIfStale(path.resolve(path.dirname(fileURLToPath(import.meta.url)), ".."));
}
