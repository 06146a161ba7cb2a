import { describe, expect, it } from "vitest";
import { ContainerError, UsageError } from "../errors.js";
import { type CommandSpec, type ParseArgsOptionsConfig, parseCommand, runCommand } from "./args.js";
import type { CommandIO } from "./io.js";

const SPEC = {
  name: "demo",
  usage: "Usage: demo [--tag <image>] [--force]",
  options: { tag: { type: "string" }, force: { type: "boolean" }, mount: { type: "string", multiple: true } },
  json: true,
} satisfies CommandSpec<ParseArgsOptionsConfig>;

function capture() {
  const out = { stdout: "", stderr: "" };
  const io: CommandIO = {
    stdout: { write: (t: string) => (out.stdout += t) },
    stderr: { write: (t: string) => (out.stderr += t) },
    env: {},
    cwd: "/",
  };
  return { io, out };
}

describe("parseCommand", () => {
  it("returns typed values, repeated flags and the built-in --json and --help", () => {
    const r = parseCommand(SPEC, ["--tag", "x:1", "--force", "--mount", "a", "--mount", "b", "--json"]);
    expect(r.values).toMatchObject({ tag: "x:1", force: true, mount: ["a", "b"] });
    expect(r).toMatchObject({ json: true, help: false, positionals: [] });
    expect(parseCommand(SPEC, ["-h"]).help).toBe(true);
  });

  it.each([
    [
      ["--bogus"],
      'unknown flag --bogus: "demo" takes --tag <value>, --force, --mount <value>, --json, --help',
    ],
    [["-x"], "unknown flag -x: "],
    [["--tag"], "--tag needs a value: "],
    [["--force=yes"], "--force takes no value: "],
    [["stray"], 'unexpected argument "stray": '],
  ])("refuses %j with a UsageError naming it and the flags", (argv, message) => {
    expect(() => parseCommand(SPEC, argv)).toThrow(UsageError);
    expect(() => parseCommand(SPEC, argv)).toThrow(message);
  });

  it("accepts --json only where the command has output", () => {
    const quiet = { ...SPEC, json: false };
    expect(() => parseCommand(quiet, ["--json"])).toThrow('unknown flag --json: "demo" takes --tag <value>');
  });

  it("allows positionals only when the command asks for them", () => {
    expect(parseCommand({ ...SPEC, positionals: true }, ["whatsapp", "--force"]).positionals).toEqual([
      "whatsapp",
    ]);
  });
});

describe("runCommand", () => {
  it("prints the usage for --help and exits 0 without running the body", async () => {
    const { io, out } = capture();
    let ran = false;
    const body = async () => {
      ran = true;
      return 0;
    };
    // Strict parsing comes first: a wrong command line is refused even with --help.
    expect(await runCommand(io, SPEC, ["--help", "--bogus"], body)).toBe(2);
    expect(await runCommand(io, SPEC, ["--help"], body)).toBe(0);
    expect(out.stdout).toBe("Usage: demo [--tag <image>] [--force]\n");
    expect(ran).toBe(false);
  });

  it("exits 2 on a usage error, 1 on a failure, each as one line; JSON with --json", async () => {
    const a = capture();
    expect(await runCommand(a.io, SPEC, ["--bogus"], async () => 0)).toBe(2);
    expect(a.out.stderr).toMatch(/^error: unknown flag --bogus: [^\n]*\n$/);
    const b = capture();
    const boom = async () => {
      throw new ContainerError(
        "DOCKER_UNREACHABLE",
        "cannot reach the Docker engine: start Docker, or set DOCKER_HOST",
      );
    };
    expect(await runCommand(b.io, SPEC, [], boom)).toBe(1);
    expect(b.out.stderr).toBe("error: cannot reach the Docker engine: start Docker, or set DOCKER_HOST\n");
    const c = capture();
    expect(await runCommand(c.io, SPEC, ["--json"], boom)).toBe(1);
    expect(JSON.parse(c.out.stdout)).toEqual({
      ok: false,
      code: "DOCKER_UNREACHABLE",
      error: "cannot reach the Docker engine: start Docker, or set DOCKER_HOST",
    });
    const d = capture();
    expect(await runCommand(d.io, SPEC, ["--json", "--bogus"], async () => 0)).toBe(2);
    expect(JSON.parse(d.out.stdout)).toMatchObject({ ok: false, code: "USAGE" });
  });
});
