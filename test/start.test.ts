import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
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

describe("nestbox start: .env", () => {
  it("takes the proxy, DOCKER_HOST and NESTBOX_HOST_DATA_DIR from .env, as the config does", async () => {
    cwd = mkdtempSync(path.join(tmpdir(), "nestbox-start-"));
    // Exactly what .env.example advertises; the engine address is one nothing listens on.
    writeFileSync(
      path.join(cwd, ".env"),
      [
        "MODEL=m",
        "OPENAI_BASE_URL=http://127.0.0.1:1/v1",
        "HTTPS_PROXY=http://proxy.test:3128",
        "NESTBOX_HOST_DATA_DIR=/srv/nestbox/data",
        "DOCKER_HOST=tcp://127.0.0.1:1",
        "LOG_LEVEL=info",
        "",
      ].join("\n"),
    );
    // The harness's LOG_LEVEL=warn blanked: the default level (info) shows the detection line.
    const r = await nestbox(["start"], "", { LOG_LEVEL: "" });
    const detected = r.stderr
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.msg === "environment detected");
    expect(detected).toMatchObject({
      proxy: "http://proxy.test:3128",
      docker: "tcp://127.0.0.1:1",
      hostDataDir: "/srv/nestbox/data",
    });
    // It asked the engine .env names, not the default socket.
    expect(r.stderr).toMatch(
      /error: cannot reach the Docker engine at tcp:\/\/127\.0\.0\.1:1 \(connect ECONNREFUSED 127\.0\.0\.1:1\): start Docker, or set DOCKER_HOST/,
    );
    expect(r.code).toBe(1);
  });
});

describe("nestbox start: --help and --version start nothing", () => {
  it.each([["--help"], ["-h"], ["--version"], ["-V"]])("start %s exits 0 at once", async (flag) => {
    cwd = mkdtempSync(path.join(tmpdir(), "nestbox-start-"));
    // No model and an engine nothing listens on: anything that started would fail.
    const r = await nestbox(["start", flag], "", { DOCKER_HOST: "tcp://127.0.0.1:1" });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      flag.startsWith("--h") || flag === "-h" ? /^Usage: nestbox start/ : /^nestbox \d+\.\d+\.\d+\n$/,
    );
    expect(r.stderr).toBe("");
  });
});
