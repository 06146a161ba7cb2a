import http from "node:http";
import https from "node:https";
import { rootCertificates } from "node:tls";
import type { ModelConfig } from "../config.js";
import { agentFor, type SandboxEnvironment } from "../sandbox/index.js";
import type { Check } from "./check.js";

/** One answer from the model endpoint: its status and the start of its body. */
interface Answer {
  status: number;
  body: string;
}

/** The smallest real request each wire format takes: one user word, at most one token back. */
function oneTokenRequest(model: ModelConfig): { url: URL; headers: Record<string, string>; body: string } {
  const messages = [{ role: "user", content: "Say ok." }];
  if (model.provider === "anthropic")
    return {
      url: new URL(`${model.baseUrl}/v1/messages`),
      headers: {
        "anthropic-version": "2023-06-01",
        ...(model.apiKey ? { "x-api-key": model.apiKey } : {}),
      },
      body: JSON.stringify({ model: model.name, max_tokens: 1, messages }),
    };
  return {
    url: new URL(`${model.baseUrl}/chat/completions`),
    headers: model.apiKey ? { authorization: `Bearer ${model.apiKey}` } : {},
    body: JSON.stringify({ model: model.name, max_tokens: 1, messages, stream: false }),
  };
}

function post(
  url: URL,
  headers: Record<string, string>,
  body: string,
  sandbox: Pick<SandboxEnvironment, "proxy" | "caCertificates">,
  timeoutMs: number,
): Promise<Answer> {
  const client = url.protocol === "https:" ? https : http;
  // CAs from a .env file are not in Node's own store (it reads NODE_EXTRA_CA_CERTS at start only).
  const ca = sandbox.caCertificates.length > 0 ? [...rootCertificates, ...sandbox.caCertificates] : undefined;
  return new Promise((resolve, reject) => {
    const req = client.request(
      url,
      {
        method: "POST",
        agent: agentFor(url, sandbox.proxy),
        headers: { "content-type": "application/json", ...headers },
        timeout: timeoutMs,
        ...(ca ? { ca } : {}),
      },
      (res) => {
        let text = "";
        res.on("data", (d: Buffer) => {
          if (text.length < 2000) text += d.toString();
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${Math.round(timeoutMs / 1000)} s`)));
    req.on("error", reject);
    req.end(body);
  });
}

/** The error text an OpenAI- or Anthropic-style error body carries, else the body's start. */
function errorText(body: string): string {
  try {
    const j = JSON.parse(body) as { error?: string | { message?: string }; message?: string };
    const e = j.error;
    return (typeof e === "string" ? e : (e?.message ?? j.message ?? body)).slice(0, 200);
  } catch {
    return body.trim().slice(0, 200);
  }
}

const keyVariable = (m: ModelConfig) => (m.provider === "anthropic" ? "ANTHROPIC_API_KEY" : "OPENAI_API_KEY");
const urlVariable = (m: ModelConfig) =>
  m.provider === "anthropic" ? "ANTHROPIC_BASE_URL" : "OPENAI_BASE_URL";

/**
 * A real 1-token call to the configured model, through the configured base URL, proxy and CA:
 * says "model down", "key refused (401)" or "model not found" with the fix, rather than ok on settings.
 */
export async function checkModel(
  model: ModelConfig,
  sandbox: Pick<SandboxEnvironment, "proxy" | "caCertificates">,
  timeoutMs = 30_000,
): Promise<Check> {
  const name = "model";
  const { url, headers, body } = oneTokenRequest(model);
  const what = `${model.provider} ${model.name} at ${model.baseUrl}`;
  let answer: Answer;
  try {
    answer = await post(url, headers, body, sandbox, timeoutMs);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return {
      name,
      status: "fail",
      detail: `model down: ${url.origin} did not answer (${code && !(err as Error).message.includes(code) ? `${code}: ` : ""}${(err as Error).message})`,
      fix: `start the model server, or correct ${urlVariable(model)}; behind a proxy check HTTPS_PROXY/NO_PROXY`,
    };
  }
  const text = errorText(answer.body);
  const s = answer.status;
  if (s >= 200 && s < 300) return { name, status: "ok", detail: `${what}: answered a 1-token request` };
  if (s === 401 || s === 403)
    return {
      name,
      status: "fail",
      detail: `key refused (${s}) by ${url.origin}: ${text}`,
      fix: `set a valid ${keyVariable(model)}`,
    };
  if (s === 404 || /model.*(not found|does not exist|unknown|not exist)|no such model/i.test(text))
    return {
      name,
      status: "fail",
      detail: `model not found: ${model.name} at ${model.baseUrl} (${s}: ${text})`,
      fix: `set MODEL to a model this endpoint serves${model.baseUrl.includes("11434") ? " (ollama list / ollama pull)" : ""}, or check ${urlVariable(model)}`,
    };
  if (s >= 500)
    return {
      name,
      status: "fail",
      detail: `model down: ${url.origin} answered ${s} (${text})`,
      fix: "the model server is failing: check its logs, or try again later",
    };
  // 400, 429...: the endpoint and key work, only this probe request was not served.
  return {
    name,
    status: "warn",
    detail: `${what}: reachable and the key accepted, but the 1-token request got ${s} (${text})`,
  };
}
