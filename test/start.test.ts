import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runNestbox } from "./process.js";

let cwd: string;
afterEach(() => rmSync(cwd, { recursive: true, force: true }));

const nestbox = (args: string[], input: string, env: Record<string, string> = {}) =>
  runNestbox(cwd, args, { input, env });

describe("nestbox start: configuration errors", () => {
  it("without a model, says exactly which variables to set and exits non-zero", async () => {
    cwd = mkdtempSync(path.join(tmpdir(), "nestbox-start-"));
    const r = await nestbox(["start"], "hello\n");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no model is configured/);
    expect(r.stderr).toMatch(/OPENAI_BASE_URL=http:\/\/host:port\/v1 MODEL=<name>/);
    expect(r.stderr).toMatch(/ANTHROPIC_API_KEY=/);
    expect(r.stdout).toBe("");
  });

  it("exits 1 with every bad variable named", async () => {
    cwd = mkdtempSync(path.join(tmpdir(), "nestbox-start-"));
    const r = await nestbox(["start"], "", { MAX_CONCURRENT_AGENTS: "lots" });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/MAX_CONCURRENT_AGENTS: must be a whole number/);
  });
});
