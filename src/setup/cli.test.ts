import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { captureIO } from "../../test/doubles/command-io.js";
import { runSetup } from "./cli.js";

let cwd: string;
beforeEach(() => {
  cwd = mkdtempSync(path.join(tmpdir(), "nestbox-setup-cli-"));
});
afterEach(() => rmSync(cwd, { recursive: true, force: true }));

async function setup(...argv: string[]) {
  // An engine nothing listens on: a step that runs anyway fails fast instead of touching Docker.
  const { io, out } = captureIO(
    { DOCKER_HOST: "tcp://127.0.0.1:1", MODEL: "m", OPENAI_BASE_URL: "http://127.0.0.1:1/v1" },
    cwd,
  );
  const code = await runSetup(argv, io);
  return { code, ...out() };
}

describe("setup steps parse their flags strictly", () => {
  it.each(["verify", "environment", "chats", "container", "register"])(
    "%s refuses an unknown flag with exit 2, naming it and the step's flags, running nothing",
    async (step) => {
      const r = await setup(step, "--bogus");
      expect(r.code).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(
        new RegExp(`^error: unknown flag --bogus: "setup ${step}" takes .*--json, --help\\n$`),
      );
    },
  );

  it.each(["verify", "environment", "chats", "container", "register"])(
    "%s --help prints the step's usage and exits 0 without running it",
    async (step) => {
      const r = await setup(step, "--help");
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^Usage: npm run setup -- ${step}`));
      expect(r.stderr).toBe("");
      const short = await setup(step, "-h");
      expect(short).toEqual(r);
    },
  );

  it("reports a usage error as JSON with --json, exit 2", async () => {
    const r = await setup("verify", "--json", "--bogus");
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({
      ok: false,
      code: "USAGE",
      error: expect.stringContaining("--bogus"),
    });
  });

  it("prints the list of steps with --help and exits 0; with no step exits 2", async () => {
    const help = await setup("--help");
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: npm run setup -- <step>/);
    expect((await setup()).code).toBe(2);
    expect((await setup("frobnicate")).code).toBe(2);
  });
});
