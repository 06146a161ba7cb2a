import { createServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import {
  type ScriptedLlm,
  type ScriptedResponse,
  startScriptedLlm,
} from "../../test/doubles/scripted-llm.js";
import { closedPort } from "../../test/ports.js";
import type { ModelConfig } from "../config.js";
import { detectSandbox } from "../sandbox/index.js";
import { checkModel } from "./model-check.js";

const sandbox = detectSandbox({ env: {}, readFile: () => null, listDir: () => [] });
let llm: ScriptedLlm | null = null;
afterEach(async () => {
  await llm?.close();
  llm = null;
});

async function against(format: "openai" | "anthropic", answer: ScriptedResponse): Promise<ModelConfig> {
  llm = await startScriptedLlm({ format, host: "127.0.0.1", respond: () => answer });
  return { provider: format, name: "scripted-model", baseUrl: llm.url, apiKey: "sk-real" };
}

describe("doctor's model check: a real 1-token call", () => {
  it("ok when the model answers; the request asks for one token of the configured model, with the key", async () => {
    const model = await against("openai", { text: "ok" });
    const check = await checkModel(model, sandbox);
    expect(check).toMatchObject({ status: "ok" });
    expect(llm?.requests).toHaveLength(1);
    expect(llm?.requests[0]?.body).toMatchObject({ model: "scripted-model", max_tokens: 1 });
    expect(llm?.requests[0]?.headers.authorization).toBe("Bearer sk-real");
  });

  it("speaks the Anthropic format too (x-api-key, /v1/messages, max_tokens 1)", async () => {
    const model = await against("anthropic", { text: "ok" });
    expect(await checkModel(model, sandbox)).toMatchObject({ status: "ok" });
    expect(llm?.requests[0]?.headers["x-api-key"]).toBe("sk-real");
    expect(llm?.requests[0]?.body).toMatchObject({ max_tokens: 1 });
  });

  it("an upstream 500 is 'model down'", async () => {
    const model = await against("openai", { error: { status: 500, message: "backend exploded" } });
    const check = await checkModel(model, sandbox);
    expect(check.status).toBe("fail");
    expect(check.detail).toMatch(/^model down: .* answered 500 \(backend exploded\)/);
  });

  it("a 401 is 'key refused (401)' and names the variable to fix", async () => {
    const model = await against("openai", { error: { status: 401, message: "Incorrect API key provided" } });
    const check = await checkModel(model, sandbox);
    expect(check.status).toBe("fail");
    expect(check.detail).toMatch(/^key refused \(401\)/);
    expect(check.fix).toContain("OPENAI_API_KEY");
  });

  it("a 404 for the model is 'model not found'", async () => {
    const model = await against("openai", {
      error: { status: 404, message: 'model "scripted-model" not found' },
    });
    const check = await checkModel(model, sandbox);
    expect(check.status).toBe("fail");
    expect(check.detail).toMatch(/^model not found: scripted-model/);
    expect(check.fix).toMatch(/set MODEL/);
  });

  it("a closed port is 'model down' with the connection error", async () => {
    const port = await closedPort();
    const model: ModelConfig = {
      provider: "openai",
      name: "m",
      baseUrl: `http://127.0.0.1:${port}/v1`,
      apiKey: "",
    };
    const check = await checkModel(model, sandbox);
    expect(check.status).toBe("fail");
    expect(check.detail).toMatch(/^model down: .*ECONNREFUSED/);
    expect(check.fix).toContain("OPENAI_BASE_URL");
  });

  it("goes through the configured proxy (HTTPS_PROXY for an https endpoint)", async () => {
    // The proxy is a plain TCP listener that records the CONNECT it receives and hangs up.
    const seen: string[] = [];
    const proxy = createServer((socket) => {
      socket.once("data", (d) => {
        seen.push(d.toString().split("\r\n")[0] ?? "");
        socket.destroy();
      });
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
    const port = (proxy.address() as { port: number }).port;
    try {
      const viaProxy = detectSandbox({
        env: { HTTPS_PROXY: `http://127.0.0.1:${port}` },
        readFile: () => null,
        listDir: () => [],
      });
      const model: ModelConfig = {
        provider: "openai",
        name: "m",
        baseUrl: "https://llm.example/v1",
        apiKey: "k",
      };
      const check = await checkModel(model, viaProxy, 5_000);
      expect(check.status).toBe("fail");
      expect(seen).toEqual(["CONNECT llm.example:443 HTTP/1.1"]);
    } finally {
      await new Promise((r) => proxy.close(r));
    }
  });
});
