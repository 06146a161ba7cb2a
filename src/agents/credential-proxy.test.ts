import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { connectProxy } from "../../test/doubles/connect-proxy.js";
import type { ModelConfig } from "../config.js";
import { silentLogger } from "../log.js";
import type { ProxySettings } from "../sandbox/index.js";
import type { RetrySettings } from "./credential-proxy/retry-policy.js";
import { CredentialProxy, type ProxyLimits, upstreamFailure } from "./credential-proxy.js";

const SECRET = "sk-real-key";
const noProxy: ProxySettings = { httpProxy: null, httpsProxy: null, noProxy: [] };
let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

/**
 * An upstream that records requests and streams two SSE events; the second only after `release()`,
 * so a client can see the first one only if nothing buffers in between.
 */
async function upstream(hold = false) {
  let release: () => void = () => {};
  const released = new Promise<void>((r) => {
    release = r;
  });
  if (!hold) release();
  const seen: { path: string; headers: IncomingHttpHeaders; body: string }[] = [];
  const cut = { count: 0 };
  const server: Server = createServer((req, res) => {
    res.on("close", () => {
      if (!res.writableFinished) cut.count += 1;
    });
    let body = "";
    req.on("data", (d: Buffer) => (body += d.toString()));
    req.on("end", () => {
      seen.push({ path: req.url ?? "", headers: req.headers, body });
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write("data: one\n\n");
      void released.then(() => res.end("data: two\n\n"));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  cleanup.push(() => new Promise((r) => server.close(() => r())));
  cleanup.push(async () => release());
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, release, cut };
}

/** Answers over this many bytes stream through unbuffered; 0 makes every answer do so. */
const STREAMED: Partial<ProxyLimits> = { maxAnswerBufferBytes: 0 };

async function proxyFor(
  model: ModelConfig,
  proxy = noProxy,
  limits: Partial<ProxyLimits> = {},
  retry: Partial<RetrySettings> = {},
) {
  const gateway = new CredentialProxy({
    model,
    proxy,
    log: silentLogger(),
    host: "127.0.0.1",
    limits,
    retry,
  });
  const url = await gateway.listen();
  cleanup.push(() => gateway.close());
  // Tokens bound to "any address", as the supervisor does when the runtime cannot tell.
  const p = {
    issueToken: (chatId: string) => {
      const token = gateway.issueToken(chatId);
      gateway.bindToken(token, null);
      return token;
    },
    revokeToken: (token: string) => gateway.revokeToken(token),
  };
  return { p, url, gateway };
}

describe("CredentialProxy", () => {
  it("swaps a live token for the real OpenAI key; an answer over the buffer cap streams unbuffered", async () => {
    const up = await upstream(true);
    const { p, url } = await proxyFor(
      { provider: "openai", name: "m", baseUrl: `${up.url}/v1`, apiKey: SECRET },
      noProxy,
      STREAMED,
    );
    const token = p.issueToken("tg:1");
    expect(token).not.toContain(SECRET);
    const res = await fetch(`${url}/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: '{"model":"m"}',
    });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toBe("data: one\n\n");
    up.release();
    let rest = "";
    for (let r = await reader.read(); !r.done; r = await reader.read())
      rest += new TextDecoder().decode(r.value);
    expect(rest).toBe("data: two\n\n");
    expect(up.seen[0]).toMatchObject({ path: "/v1/chat/completions", body: '{"model":"m"}' });
    expect(up.seen[0]?.headers.authorization).toBe(`Bearer ${SECRET}`);
  });

  it("keeps streaming an answer the upstream has started past every request timeout", async () => {
    const up = await upstream(true);
    const { p, url } = await proxyFor(
      { provider: "openai", name: "m", baseUrl: `${up.url}/v1`, apiKey: SECRET },
      noProxy,
      { ...STREAMED, headersTimeoutMs: 200, requestTimeoutMs: 200, idleTimeoutMs: 200 },
    );
    const res = await fetch(`${url}/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${p.issueToken("tg:1")}` },
      body: "{}",
    });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("data: one\n\n");
    await new Promise((r) => setTimeout(r, 1_200));
    up.release();
    let rest = "";
    for (let r = await reader.read(); !r.done; r = await reader.read())
      rest += new TextDecoder().decode(r.value);
    expect(rest).toBe("data: two\n\n");
  });

  it("aborts the upstream answer when the agent hangs up mid-stream", async () => {
    const up = await upstream(true);
    const { p, url } = await proxyFor(
      { provider: "openai", name: "m", baseUrl: `${up.url}/v1`, apiKey: SECRET },
      noProxy,
      STREAMED,
    );
    const controller = new AbortController();
    const res = await fetch(`${url}/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${p.issueToken("tg:1")}` },
      body: "{}",
      signal: controller.signal,
    });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    controller.abort();
    const deadline = Date.now() + 2_000;
    while (up.cut.count === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(up.cut.count).toBe(1);
  });

  it("puts the real key in x-api-key for Anthropic", async () => {
    const up = await upstream();
    const { p, url } = await proxyFor({ provider: "anthropic", name: "m", baseUrl: up.url, apiKey: SECRET });
    const res = await fetch(`${url}/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": p.issueToken("c") },
      body: "{}",
    });
    await res.text();
    expect(up.seen[0]?.path).toBe("/v1/messages");
    expect(up.seen[0]?.headers["x-api-key"]).toBe(SECRET);
    expect(up.seen[0]?.headers.authorization).toBeUndefined();
  });

  it("answers 401 to unknown, missing and revoked tokens, forwarding nothing", async () => {
    const up = await upstream();
    const { p, url } = await proxyFor({ provider: "openai", name: "m", baseUrl: up.url, apiKey: SECRET });
    const revoked = p.issueToken("c");
    p.revokeToken(revoked);
    for (const headers of [
      { authorization: "Bearer nbx-guess" },
      {},
      { authorization: `Bearer ${revoked}` },
    ] as Record<string, string>[]) {
      const res = await fetch(`${url}/chat/completions`, { method: "POST", headers, body: "{}" });
      expect(res.status).toBe(401);
      expect(await res.text()).not.toContain(SECRET);
    }
    expect(up.seen).toEqual([]);
  });

  it("reaches the upstream through the configured HTTP(S) proxy", async () => {
    const up = await upstream();
    const via = await connectProxy();
    cleanup.push(via.close);
    const { p, url } = await proxyFor(
      { provider: "openai", name: "m", baseUrl: up.url, apiKey: SECRET },
      { httpProxy: via.url, httpsProxy: via.url, noProxy: [] },
    );
    const res = await fetch(`${url}/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${p.issueToken("c")}` },
      body: "{}",
    });
    await res.text();
    expect(via.targets).toEqual([new URL(up.url).host]);
    expect(up.seen).toHaveLength(1);
  });

  it("says what to fix when the upstream stays unreachable for the retry window", async () => {
    const { p, url } = await proxyFor(
      { provider: "openai", name: "m", baseUrl: "http://127.0.0.1:9", apiKey: SECRET },
      noProxy,
      {},
      { windowMs: 400, baseDelayMs: 50 },
    );
    const res = await fetch(`${url}/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${p.issueToken("c")}` },
      body: "{}",
    });
    expect(res.status).toBe(503);
    expect(res.headers.get("x-should-retry")).toBe("false");
    expect(await res.text()).toMatch(
      /model endpoint http:\/\/127.0.0.1:9 kept failing for \d+ s \(\d+ attempts, last: ECONNREFUSED\).*check the base URL and the proxy settings/,
    );
    const tls = Object.assign(new Error("self-signed certificate in certificate chain"), {
      code: "SELF_SIGNED_CERT_IN_CHAIN",
    });
    expect(upstreamFailure(tls, new URL("https://llm.example/v1"))).toMatch(
      /TLS to the model endpoint llm.example failed \(SELF_SIGNED_CERT_IN_CHAIN\).*set NODE_EXTRA_CA_CERTS/,
    );
  });
});
