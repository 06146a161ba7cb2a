import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { captureIO } from "../../test/doubles/command-io.js";
import type { StartOptions } from "../main.js";
import { runNestbox } from "./commands.js";

let cwd: string;
let started: StartOptions[];
let signalsAsked: number;
beforeEach(() => {
  cwd = mkdtempSync(path.join(tmpdir(), "nestbox-cli-"));
  started = [];
  signalsAsked = 0;
});
afterEach(() => rmSync(cwd, { recursive: true, force: true }));

async function nestbox(...argv: string[]) {
  const { io, out } = captureIO({ DOCKER_HOST: "tcp://127.0.0.1:1" }, cwd);
  const code = await runNestbox(argv, io, {
    stdin: new PassThrough(),
    stdout: new PassThrough(),
    projectDir: cwd,
    stopSignal: () => {
      signalsAsked++;
      return new Promise(() => {});
    },
    start: async (options) => {
      started.push(options);
      return 0;
    },
  });
  return { code, ...out() };
}

describe("nestbox commands parse their flags strictly", () => {
  it.each([
    ["start", "--terminal, --no-terminal"],
    ["status", "--json"],
    ["chats", "--json"],
  ])(
    "%s refuses an unknown flag with exit 2, naming it and the flags it takes, starting nothing",
    async (name, flag) => {
      const r = await nestbox(name, "--bogus");
      expect(r).toEqual({
        code: 2,
        stdout: "",
        stderr: expect.stringMatching(
          new RegExp(`^error: unknown flag --bogus: "${name}" takes ${flag}, --help\\n$`),
        ),
      });
      expect(started).toEqual([]);
      expect(signalsAsked).toBe(0);
    },
  );

  it.each(["start", "status", "chats"])(
    "%s --help prints its usage and exits 0 without running",
    async (name) => {
      const r = await nestbox(name, "--help");
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^Usage: nestbox ${name}`));
      expect(await nestbox(name, "-h")).toEqual(r);
      expect(started).toEqual([]);
    },
  );

  it("start passes --terminal on; no command means start", async () => {
    expect((await nestbox("start", "--terminal")).code).toBe(0);
    expect((await nestbox()).code).toBe(0);
    expect(started.map((s) => s.terminal)).toEqual([true, false]);
    expect(signalsAsked).toBe(2);
  });

  it("start passes --no-terminal on (what a service runs)", async () => {
    expect((await nestbox("start", "--no-terminal")).code).toBe(0);
    expect(started.map((s) => [s.terminal, s.noTerminal])).toEqual([[false, true]]);
    const both = await nestbox("start", "--terminal", "--no-terminal");
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--terminal and --no-terminal exclude each other/);
    expect(started).toHaveLength(1);
  });

  it("status --json answers with the report; start refuses --json (it has no report)", async () => {
    // An existing data folder no host ever ran on: a report, "not running" (2); Docker unreachable here.
    mkdirSync(path.join(cwd, "data"));
    const r = await nestbox("status", "--json");
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({
      installId: null,
      chats: [],
      host: { state: "stopped", pid: null },
      dockerReachable: false,
      exitCode: 2,
    });
    expect((await nestbox("start", "--json")).code).toBe(2);
  });

  it("refuses an unknown command with exit 2; help exits 0", async () => {
    const r = await nestbox("frobnicate", "--json");
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({
      ok: false,
      code: "USAGE",
      error: expect.stringContaining("frobnicate"),
    });
    expect((await nestbox("--help")).stdout).toMatch(/^Usage: nestbox <command>/);
  });
});

describe("every command of the bin answers --help and --version without running anything", () => {
  const version = (
    JSON.parse(readFileSync(path.join(import.meta.dirname, "../../package.json"), "utf8")) as {
      version: string;
    }
  ).version;
  const commands = [
    ["start"],
    ["status"],
    ["chats"],
    ["setup"],
    ["setup", "register"],
    ["setup", "edit"],
    ["setup", "unregister"],
    ["setup", "chats"],
    ["setup", "container"],
    ["setup", "environment"],
    ["setup", "verify"],
    ["auth"],
    ["auth", "whatsapp"],
    [],
  ];

  it.each(commands)("nestbox %s --version and -V print the version and exit 0", async (...cmd) => {
    for (const flag of ["--version", "-V"]) {
      const r = await nestbox(...cmd, flag);
      expect(r).toEqual({ code: 0, stdout: `nestbox ${version}\n`, stderr: "" });
    }
    expect(started).toEqual([]);
    expect(signalsAsked).toBe(0);
  });

  it.each(commands)("nestbox %s --help prints a usage and exits 0", async (...cmd) => {
    const r = await nestbox(...cmd, "--help");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: /);
    expect(r.stderr).toBe("");
    expect(await nestbox(...cmd, "-h")).toEqual(r);
    expect(started).toEqual([]);
    expect(signalsAsked).toBe(0);
  });

  it.each([
    ["setup", "chats"],
    ["setup", "verify"],
    ["auth", "whatsapp"],
  ])("nestbox %s %s refuses an unknown flag with exit 2", async (...cmd) => {
    const r = await nestbox(...cmd, "--bogus");
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown flag --bogus/);
  });

  it("the top-level usage names every command", async () => {
    const r = await nestbox("--help");
    for (const c of ["start", "status", "chats", "setup <step>", "auth whatsapp"]) {
      expect(r.stdout).toContain(`  ${c}`);
    }
  });
});
