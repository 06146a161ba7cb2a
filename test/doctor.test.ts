import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type ScriptedLlm, startScriptedLlm } from "./doubles/scripted-llm.js";
import { runNestbox } from "./process.js";

let cwd: string;
let llm: ScriptedLlm | null = null;
afterEach(async () => {
  await llm?.close();
  llm = null;
  rmSync(cwd, { recursive: true, force: true });
});

/** An engine address nothing listens on: Docker-dependent checks fail or are skipped, fast. */
const NO_DOCKER = { DOCKER_HOST: "unix:///nonexistent/nestbox-doctor/docker.sock" };

describe("nestbox doctor (a real process)", () => {
  it("a down model and no Docker: FAIL lines with their fixes, exit 1; a typo in .env is named", async () => {
    cwd = mkdtempSync(path.join(tmpdir(), "nestbox-doctor-"));
    writeFileSync(
      path.join(cwd, ".env"),
      "MODEL=m\nOPENAI_API_KEY=sk-x\nOPENAI_BASEURL=http://127.0.0.1:11434/v1\n",
    );
    llm = await startScriptedLlm({
      format: "openai",
      host: "127.0.0.1",
      respond: () => ({ error: { status: 503, message: "loading model" } }),
    });
    const r = await runNestbox(cwd, ["doctor"], {
      env: {
        ...NO_DOCKER,
        OPENAI_BASE_URL: llm.url,
        TELEGRAM_BOT_TOKEN: "123:abc",
        TELEGRAM_API_ROOT: "http://127.0.0.1:1",
      },
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      "warn variables: unknown, ignored: OPENAI_BASEURL (did you mean OPENAI_BASE_URL?)",
    );
    expect(r.stdout).toMatch(/^FAIL model: model down: .* answered 503 \(loading model\)$/m);
    expect(r.stdout).toMatch(/^FAIL docker: cannot reach the Docker engine at unix:\/\/\/nonexistent/m);
    expect(r.stdout).toMatch(/^ {5}fix: start Docker, or set DOCKER_HOST$/m);
    expect(r.stdout).toMatch(/^warn data folder: .*does not exist yet/m);
    // An unreachable Bot API is not a refused token.
    expect(r.stdout).toMatch(/^FAIL telegram: Telegram API http:\/\/127.0.0.1:1 unreachable$/m);
    expect(r.stdout).not.toContain("token not accepted");
    expect(llm.requests).toHaveLength(1);
  });

  it("--json: one object, each check with its status; a refused key is said so", async () => {
    cwd = mkdtempSync(path.join(tmpdir(), "nestbox-doctor-"));
    llm = await startScriptedLlm({
      format: "anthropic",
      host: "127.0.0.1",
      respond: () => ({ error: { status: 401, message: "invalid x-api-key" } }),
    });
    const r = await runNestbox(cwd, ["doctor", "--json"], {
      env: { ...NO_DOCKER, MODEL: "claude-x", ANTHROPIC_API_KEY: "sk-ant-bad", ANTHROPIC_BASE_URL: llm.url },
    });
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout);
    expect(report.ok).toBe(false);
    const model = report.checks.find((c: { name: string }) => c.name === "model");
    expect(model).toMatchObject({ status: "fail", fix: "set a valid ANTHROPIC_API_KEY" });
    expect(model.detail).toMatch(/^key refused \(401\)/);
  });

  it("nestbox start warns about the typo in one line before anything else", async () => {
    cwd = mkdtempSync(path.join(tmpdir(), "nestbox-doctor-"));
    const r = await runNestbox(cwd, ["start"], {
      env: { ...NO_DOCKER, MODEL: "m", OPENAI_API_KEY: "sk-x", TELEGRAM_TOKEN: "1:x" },
      input: "",
    });
    expect(r.code).toBe(1);
    const warnings = r.stderr.split("\n").filter((l) => l.startsWith("warning: unknown variables"));
    expect(warnings).toEqual([
      "warning: unknown variables ignored: TELEGRAM_TOKEN (did you mean TELEGRAM_BOT_TOKEN?)",
    ]);
  });
});
