import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";

const root = path.join(import.meta.dirname, "..");
let cwd: string;
afterEach(() => rmSync(cwd, { recursive: true, force: true }));

function nestbox(args: string[], input: string, env: Record<string, string> = {}) {
  const child = spawn(
    path.join(root, "node_modules/.bin/tsx"),
    [path.join(root, "src/cli/nestbox.ts"), ...args],
    {
      cwd,
      env: { PATH: process.env.PATH ?? "", HOME: cwd, LOG_LEVEL: "warn", ...env },
      stdio: ["pipe", "pipe", "pipe"],
    },
  );
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(input);
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on("exit", (code) => resolve({ code, stdout, stderr })),
  );
}

describe("nestbox start with the terminal channel", () => {
  it("opens the terminal chat as the main chat, answers each piped line, and exits 0 at end of input", async () => {
    cwd = mkdtempSync(path.join(tmpdir(), "nestbox-start-"));
    const r = await nestbox(["start"], "hello\nare you there?\n");
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split("\n").length).toBeGreaterThanOrEqual(1);
    expect(r.stdout).toMatch(/^Andy: /m);
    const chats = await nestbox(["chats", "--json"], "");
    expect(JSON.parse(chats.stdout)).toEqual([
      expect.objectContaining({
        chatId: "local:console",
        isMain: true,
        requiresTrigger: false,
        folder: "main",
      }),
    ]);
    expect(readFileSync(path.join(cwd, "data/groups/main/AGENTS.md"), "utf8")).toContain("Andy");
  });

  it("exits 1 with every bad variable named", async () => {
    cwd = mkdtempSync(path.join(tmpdir(), "nestbox-start-"));
    const r = await nestbox(["start"], "", { MAX_CONCURRENT_AGENTS: "lots" });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/MAX_CONCURRENT_AGENTS: must be a whole number/);
  });
});
