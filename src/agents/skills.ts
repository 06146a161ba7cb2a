import { cpSync, existsSync, mkdirSync } from "node:fs";
import path from "node:path";

/** Copies the project's skills into `data/skills/`, so every mount source lives under `data/`. */
export function syncSkills(projectDir: string, dataDir: string): void {
  const from = path.join(projectDir, "skills");
  const to = path.join(dataDir, "skills");
  mkdirSync(to, { recursive: true });
  if (existsSync(from)) cpSync(from, to, { recursive: true, force: true });
}
