import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { CommandIO } from "../../src/cli/io.js";
import { runSetup } from "../../src/setup/cli.js";
import { type ScriptedLlm, startScriptedLlm } from "../doubles/scripted-llm.js";
import { AGENT_IMAGE, describeDocker } from "./support.js";

describeDocker("setup environment: detection and egress paths from the host and an agent container", () => {
  let llm: ScriptedLlm;
  let cwd: string;
  beforeAll(async () => {
    llm = await startScriptedLlm({ format: "openai", host: "127.0.0.1", respond: () => ({ text: "hi" }) });
    cwd = mkdtempSync(path.join(tmpdir(), "nestbox-env-"));
  });
  afterAll(async () => {
    await llm.close();
    rmSync(cwd, { recursive: true, force: true });
  });

  async function run(env: Record<string, string>) {
    let stdout = "";
    const io: CommandIO = {
      stdout: { write: (t: string) => (stdout += t) },
      stderr: { write: () => true },
      env: { AGENT_IMAGE, MODEL: "m", NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS ?? "", ...env },
      cwd,
    };
    const code = await runSetup(["environment", "--json"], io);
    return { code, report: JSON.parse(stdout) };
  }

  it("reports what it detected and reaches the model through the credential proxy, from both sides", async () => {
    const { code, report } = await run({
      OPENAI_BASE_URL: llm.url,
      HTTPS_PROXY: "",
      NO_PROXY: "corp.example",
    });
    expect(report.probes.filter((p: { ok: boolean }) => !p.ok)).toEqual([]);
    expect(code).toBe(0);
    expect(report.detected).toMatchObject({
      ownContainer: null,
      dockerVersion: expect.any(String),
      hostDataDir: null,
      agentNetwork: {
        mode: "open",
        name: expect.stringMatching(/^nestbox-env-/),
        gateway: expect.any(String),
      },
    });
    expect(report.detected.proxy.noProxy).toEqual(["corp.example"]);
    expect(report.probes.map((p: { path: string }) => p.path)).toEqual([
      "data/ visible to the daemon",
      `model ${llm.url} (host -> credential proxy)`,
      `model ${llm.url} (agent container -> credential proxy)`,
    ]);
    // Both model probes got an HTTP answer from the upstream (not the proxy's 502).
    for (const p of report.probes.slice(1)) expect(p.detail).toMatch(/^HTTP \d{3} in \d+ ms$/);
  });

  it("with AGENT_NETWORK=internal, an agent container still reaches the model through the credential proxy", async () => {
    const { code, report } = await run({
      OPENAI_BASE_URL: llm.url,
      HTTPS_PROXY: "",
      AGENT_NETWORK: "internal",
    });
    expect(report.probes.filter((p: { ok: boolean }) => !p.ok)).toEqual([]);
    expect(code).toBe(0);
    expect(report.detected.agentNetwork).toMatchObject({ mode: "internal", name: expect.any(String) });
    const agent = report.probes.find((p: { path: string }) => p.path.includes("agent container"));
    expect(agent?.detail).toMatch(/^HTTP \d{3} in \d+ ms$/);
  });

  it("fails with the reason when the model endpoint is unreachable", async () => {
    const { code, report } = await run({ OPENAI_BASE_URL: "http://127.0.0.1:9/v1" });
    expect(code).toBe(1);
    const model = report.probes.find((p: { path: string }) => p.path.includes("agent container"));
    expect(model).toMatchObject({ ok: false, detail: expect.stringMatching(/unreachable \(ECONNREFUSED\)/) });
  });
});
