import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { DockerRuntime } from "../../src/containers/docker-runtime.js";
import { type LlmFormat, type ScriptedLlm, startScriptedLlm } from "../doubles/scripted-llm.js";
import { startHost } from "../process.js";
import { AGENT_IMAGE, describeDocker } from "./support.js";

const SECRET = "sk-test-real-secret-never-in-a-container";

function toolThenText(format: LlmFormat) {
  return startScriptedLlm({
    format,
    host: "127.0.0.1",
    respond: (req) => {
      const said = JSON.stringify(req.messages);
      if (!said.includes("written-by-the-agent")) {
        return {
          toolCall: {
            name: "bash",
            arguments: { command: "echo written-by-the-agent > /workspace/group/proof.txt && id -u" },
          },
        };
      }
      return { text: `Done (${format}): I wrote proof.txt in your folder.` };
    },
  });
}

for (const format of ["openai", "anthropic"] as const) {
  describeDocker(
    `end to end (${format}): terminal -> container -> pi -> scripted LLM -> bash tool -> reply`,
    () => {
      let llm: ScriptedLlm;
      let cwd: string;
      beforeAll(async () => {
        llm = await toolThenText(format);
        cwd = mkdtempSync(path.join(tmpdir(), `nestbox-e2e-${format}-`));
      });
      afterAll(async () => {
        await llm.close();
        const docker = new DockerRuntime();
        for (const c of await docker.list({ "nestbox.folder": "main" })) {
          if (c.labels["nestbox.chat"] === "local:console" && c.name.includes("-main-"))
            await docker.remove(c.id);
        }
        rmSync(cwd, { recursive: true, force: true });
      });

      it("answers through a real container and the file exists on the host", async () => {
        const modelEnv: Record<string, string> =
          format === "openai"
            ? { OPENAI_BASE_URL: llm.url, OPENAI_API_KEY: SECRET }
            : { ANTHROPIC_BASE_URL: llm.url, ANTHROPIC_API_KEY: SECRET };
        const host = startHost(cwd, { MODEL: "scripted-model", AGENT_IMAGE, TZ: "UTC", ...modelEnv });
        host.send("please write the proof file");
        host.endInput();
        expect(await host.exited()).toBe(0);
        expect(host.stdout()).toBe(`Andy: Done (${format}): I wrote proof.txt in your folder.\n`);
        const proof = path.join(cwd, "data/groups/main/proof.txt");
        expect(existsSync(proof)).toBe(true);
        expect(readFileSync(proof, "utf8")).toBe("written-by-the-agent\n");
        // The model saw the user's message, the tool ran as a non-root user, and the upstream got the real key.
        expect(JSON.stringify(llm.requests[0]?.messages)).toContain("please write the proof file");
        expect(JSON.stringify(llm.requests[1]?.messages)).toMatch(/written-by-the-agent|1000/);
        const auth =
          format === "openai"
            ? llm.requests[0]?.headers.authorization
            : llm.requests[0]?.headers["x-api-key"];
        expect(auth).toBe(format === "openai" ? `Bearer ${SECRET}` : SECRET);
      });
    },
  );
}
