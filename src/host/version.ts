import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

/** nestbox's version from its package.json (two levels up from sources, three from dist/). */
export function nestboxVersion(): string {
  for (const up of ["../..", "../../.."]) {
    const file = path.resolve(import.meta.dirname, up, "package.json");
    if (!existsSync(file)) continue;
    try {
      const pkg = JSON.parse(readFileSync(file, "utf8")) as { name?: string; version?: string };
      if (pkg.name === "nestbox" && pkg.version) return pkg.version;
    } catch {
      // unreadable: try the next candidate
    }
  }
  return "unknown";
}
