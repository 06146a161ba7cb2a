import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

/**
 * The folder nestbox is installed in (package.json, `container/`, `skills/`): the nearest folder above
 * `from` whose package.json is nestbox's, so it is found from the sources, from `dist/` and from an install.
 */
export function projectDir(from: string = import.meta.dirname): string {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    if (isNestbox(path.join(dir, "package.json"))) return dir;
    if (path.dirname(dir) === dir) return path.resolve(import.meta.dirname, "..", "..");
  }
}

function isNestbox(file: string): boolean {
  if (!existsSync(file)) return false;
  try {
    return (JSON.parse(readFileSync(file, "utf8")) as { name?: unknown }).name === "nestbox";
  } catch {
    return false;
  }
}

/** nestbox's version, from its package.json. */
export function nestboxVersion(dir: string = projectDir()): string {
  const pkg = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) as { version?: string };
  return pkg.version ?? "unknown";
}
