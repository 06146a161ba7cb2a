// Scripted LLM server: a real HTTP server speaking the OpenAI chat-completions or the Anthropic messages
// wire format (streaming SSE and plain JSON), answering each request with what the test's `respond`
// returns. Zero model latency; node built-ins only, so it also runs inside benchmarks and containers.
import { randomUUID } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** Which wire format the server speaks. */
export type LlmFormat = "openai" | "anthropic";

/** A tool call the scripted model makes; `arguments` is the parsed argument object. */
export interface ScriptedToolCall {
  name: string;
  arguments: Record<string, unknown>;
  /** Tool call id; generated when omitted. */
  id?: string;
}

/** Token counts to report; estimated from the request and answer sizes when omitted. */
export interface ScriptedUsage {
  inputTokens: number;
  outputTokens: number;
}

/** What the scripted model answers: text, a tool call (optionally after some text), or an HTTP error. */
export type ScriptedResponse =
  | { text: string; usage?: ScriptedUsage }
  | { toolCall: ScriptedToolCall; text?: string; usage?: ScriptedUsage }
  | { error: { status: number; message: string } };

/** One request the server received, as the test's `respond` sees it. */
export interface ScriptedRequest {
  /** The conversation sent (`body.messages`); the Anthropic system prompt stays in `body.system`. */
  messages: unknown[];
  // biome-ignore lint/suspicious/noExplicitAny: the raw request body, whatever the client sent
  body: any;
  headers: IncomingHttpHeaders;
  path: string;
  /** 0 for the first request the server received. */
  index: number;
}

export interface ScriptedLlmOptions {
  format: LlmFormat;
  respond: (request: ScriptedRequest) => ScriptedResponse | Promise<ScriptedResponse>;
  /** Address to listen on. Default 0.0.0.0, so containers reach it through the bridge gateway. */
  host?: string;
  /** Port to listen on. Default 0 (any free port). */
  port?: number;
}

export interface ScriptedLlm {
  /** Base URL for a client on this machine (OpenAI: ends in /v1; Anthropic: the origin). */
  url: string;
  port: number;
  /** The same base URL with another host name, e.g. the Docker bridge gateway for containers. */
  urlFor(host: string): string;
  /** Every model request received, in order, with its parsed body and headers. */
  requests: ScriptedRequest[];
  close(): Promise<void>;
}

/** Start a scripted LLM server; resolves once it listens. */
export async function startScriptedLlm(options: ScriptedLlmOptions): Promise<ScriptedLlm> {
  const { format, respond } = options;
  const host = options.host ?? "0.0.0.0";
  const requests: ScriptedRequest[] = [];
  const endpoint = format === "openai" ? "/v1/chat/completions" : "/v1/messages";

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, errorBody(format, String(err)));
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    if (req.method !== "POST" || path !== endpoint) {
      sendJson(res, 404, errorBody(format, `no route ${req.method} ${path}`));
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(await readBody(req));
    } catch {
      sendJson(res, 400, errorBody(format, "body is not JSON"));
      return;
    }
    const parsed = body as { messages?: unknown; stream?: unknown; model?: unknown };
    const request: ScriptedRequest = {
      messages: Array.isArray(parsed.messages) ? parsed.messages : [],
      body,
      headers: req.headers,
      path,
      index: requests.length,
    };
    requests.push(request);
    const answer = await respond(request);
    if ("error" in answer) {
      sendJson(res, answer.error.status, errorBody(format, answer.error.message));
      return;
    }
    const model = typeof parsed.model === "string" ? parsed.model : "scripted";
    const usage = answer.usage ?? estimateUsage(body, answer);
    const stream = parsed.stream === true;
    if (format === "openai") writeOpenAi(res, answer, model, usage, stream, includeUsage(body));
    else writeAnthropic(res, answer, model, usage, stream);
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const urlFor = (name: string) => {
    const origin = `http://${name.includes(":") ? `[${name}]` : name}:${port}`;
    return format === "openai" ? `${origin}/v1` : origin;
  };
  const localHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
  return {
    url: urlFor(localHost),
    port,
    urlFor,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

type Answer = Exclude<ScriptedResponse, { error: unknown }>;

function writeOpenAi(
  res: ServerResponse,
  answer: Answer,
  model: string,
  usage: ScriptedUsage,
  stream: boolean,
  withUsage: boolean,
): void {
  const id = `chatcmpl-${randomUUID()}`;
  const created = Math.floor(Date.now() / 1000);
  const text = answer.text ?? "";
  const call = "toolCall" in answer ? answer.toolCall : undefined;
  const callId = call?.id ?? `call_${randomUUID().replaceAll("-", "").slice(0, 24)}`;
  const finishReason = call ? "tool_calls" : "stop";
  const usageBody = {
    prompt_tokens: usage.inputTokens,
    completion_tokens: usage.outputTokens,
    total_tokens: usage.inputTokens + usage.outputTokens,
  };
  if (!stream) {
    sendJson(res, 200, {
      id,
      object: "chat.completion",
      created,
      model,
      choices: [
        {
          index: 0,
          message: {
            role: "assistant",
            content: text === "" && call ? null : text,
            ...(call
              ? {
                  tool_calls: [
                    {
                      id: callId,
                      type: "function",
                      function: { name: call.name, arguments: JSON.stringify(call.arguments) },
                    },
                  ],
                }
              : {}),
          },
          finish_reason: finishReason,
        },
      ],
      usage: usageBody,
    });
    return;
  }
  startSse(res);
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
    sse(res, undefined, { id, object: "chat.completion.chunk", created, model, choices, ...extra });
  chunk([{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }]);
  for (const piece of splitText(text)) {
    chunk([{ index: 0, delta: { content: piece }, finish_reason: null }]);
  }
  if (call) {
    const args = JSON.stringify(call.arguments);
    const half = Math.ceil(args.length / 2);
    chunk([
      {
        index: 0,
        delta: {
          tool_calls: [
            { index: 0, id: callId, type: "function", function: { name: call.name, arguments: "" } },
          ],
        },
        finish_reason: null,
      },
    ]);
    for (const part of [args.slice(0, half), args.slice(half)]) {
      if (part)
        chunk([
          {
            index: 0,
            delta: { tool_calls: [{ index: 0, function: { arguments: part } }] },
            finish_reason: null,
          },
        ]);
    }
  }
  chunk([{ index: 0, delta: {}, finish_reason: finishReason }]);
  if (withUsage) chunk([], { usage: usageBody });
  res.write("data: [DONE]\n\n");
  res.end();
}

function writeAnthropic(
  res: ServerResponse,
  answer: Answer,
  model: string,
  usage: ScriptedUsage,
  stream: boolean,
): void {
  const id = `msg_${randomUUID().replaceAll("-", "")}`;
  const text = answer.text ?? "";
  const call = "toolCall" in answer ? answer.toolCall : undefined;
  const callId = call?.id ?? `toolu_${randomUUID().replaceAll("-", "").slice(0, 24)}`;
  const stopReason = call ? "tool_use" : "end_turn";
  const content: unknown[] = [];
  if (text !== "") content.push({ type: "text", text });
  if (call) content.push({ type: "tool_use", id: callId, name: call.name, input: call.arguments });
  if (!stream) {
    sendJson(res, 200, {
      id,
      type: "message",
      role: "assistant",
      model,
      content,
      stop_reason: stopReason,
      stop_sequence: null,
      usage: { input_tokens: usage.inputTokens, output_tokens: usage.outputTokens },
    });
    return;
  }
  startSse(res);
  const event = (name: string, data: Record<string, unknown>) => sse(res, name, { type: name, ...data });
  event("message_start", {
    message: {
      id,
      type: "message",
      role: "assistant",
      model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: {
        input_tokens: usage.inputTokens,
        output_tokens: 1,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
      },
    },
  });
  event("ping", {});
  let index = 0;
  if (text !== "") {
    event("content_block_start", { index, content_block: { type: "text", text: "" } });
    for (const piece of splitText(text)) {
      event("content_block_delta", { index, delta: { type: "text_delta", text: piece } });
    }
    event("content_block_stop", { index });
    index += 1;
  }
  if (call) {
    const args = JSON.stringify(call.arguments);
    const half = Math.ceil(args.length / 2);
    event("content_block_start", {
      index,
      content_block: { type: "tool_use", id: callId, name: call.name, input: {} },
    });
    for (const part of [args.slice(0, half), args.slice(half)]) {
      if (part)
        event("content_block_delta", { index, delta: { type: "input_json_delta", partial_json: part } });
    }
    event("content_block_stop", { index });
  }
  event("message_delta", {
    delta: { stop_reason: stopReason, stop_sequence: null },
    usage: { output_tokens: usage.outputTokens },
  });
  event("message_stop", {});
  res.end();
}

function startSse(res: ServerResponse): void {
  res.writeHead(200, {
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
    connection: "keep-alive",
  });
}

function sse(res: ServerResponse, event: string | undefined, data: unknown): void {
  res.write(`${event ? `event: ${event}\n` : ""}data: ${JSON.stringify(data)}\n\n`);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function errorBody(format: LlmFormat, message: string): unknown {
  return format === "openai"
    ? { error: { message, type: "invalid_request_error", code: null } }
    : { type: "error", error: { type: "invalid_request_error", message } };
}

function includeUsage(body: unknown): boolean {
  const options = (body as { stream_options?: { include_usage?: unknown } }).stream_options;
  return options?.include_usage === true;
}

/** Split text into up to three deltas so clients exercise their accumulation. */
function splitText(text: string): string[] {
  if (text.length < 6) return text === "" ? [] : [text];
  const a = Math.floor(text.length / 3);
  const b = Math.floor((2 * text.length) / 3);
  return [text.slice(0, a), text.slice(a, b), text.slice(b)];
}

function estimateUsage(body: unknown, answer: Answer): ScriptedUsage {
  const output =
    (answer.text ?? "").length +
    ("toolCall" in answer ? JSON.stringify(answer.toolCall.arguments).length : 0);
  return {
    inputTokens: Math.max(1, Math.ceil(JSON.stringify(body).length / 4)),
    outputTokens: Math.max(1, Math.ceil(output / 4)),
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}
