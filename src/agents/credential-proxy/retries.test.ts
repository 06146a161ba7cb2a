// Model outages through the real proxy: a scripted upstream fails in each way a provider fails, and
// the agent either gets the model's real answer (within the window) or one clear 503 after it.
import { createServer, type ServerResponse } from "node:http";
import { type AddressInfo, connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { waitFor } from "../../../test/wait.js";
import { silentLogger } from "../../log.js";
import { CredentialProxy } from "./gateway.js";
import type { ProxyLimits } from "./limits.js";
import { nextDelayMs, type RetrySettings, retryAfterMs, streamReportsOutage } from "./retry-policy.js";

type Fault =
  | "ok"
  | "500"
  | "429"
  | "400"
  | "reset-before-answer"
  | "reset-mid-answer"
  | "stall-mid-answer"
  | "stream-overloaded";

const GOOD = 'event: message_start\ndata: {"ok":true}\n\nevent: message_stop\ndata: {}\n\n';

/** An upstream that answers request i with `script[i]` (the last entry repeats). */
async function scriptedUpstream(script: Fault[]) {
  const seen: number[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const fault = script[Math.min(seen.length, script.length - 1)] as Fault;
      seen.push(Date.now());
      answer(fault, res, req.socket);
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  cleanup.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

function answer(fault: Fault, res: ServerResponse, socket: Socket): void {
  const sse = { "content-type": "text/event-stream" };
  switch (fault) {
    case "ok":
      res.writeHead(200, sse).end(GOOD);
      return;
    case "500":
      res.writeHead(500, { "content-type": "application/json" }).end('{"error":"internal detail 42"}');
      return;
    case "429":
      res.writeHead(429, { "retry-after": "1" }).end("{}");
      return;
    case "400":
      res.writeHead(400, { "content-type": "application/json" }).end('{"error":"bad request"}');
      return;
    case "reset-before-answer":
      socket.destroy();
      return;
    case "reset-mid-answer":
      res.writeHead(200, sse);
      res.write("event: message_start\n");
      setTimeout(() => socket.destroy(), 20);
      return;
    case "stall-mid-answer":
      res.writeHead(200, sse);
      res.write("event: message_start\n");
      return;
    case "stream-overloaded":
      res
        .writeHead(200, sse)
        .end(
          'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n',
        );
      return;
  }
}

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

const FAST: Partial<RetrySettings> = { windowMs: 5_000, stallMs: 300, baseDelayMs: 30, maxDelayMs: 60 };

async function proxyTo(
  origin: string,
  retry: Partial<RetrySettings> = FAST,
  limits: Partial<ProxyLimits> = {},
) {
  const proxy = new CredentialProxy({
    model: { provider: "anthropic", name: "m", baseUrl: origin, apiKey: "sk-real" },
    proxy: { httpProxy: null, httpsProxy: null, noProxy: [] },
    log: silentLogger(),
    host: "127.0.0.1",
    retry,
    limits,
  });
  const url = await proxy.listen();
  cleanup.push(() => proxy.close());
  const token = proxy.issueToken("tg:1");
  proxy.bindToken(token, null);
  const port = proxy.port;
  const call = (signal?: AbortSignal) =>
    fetch(`${url}/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": token, "content-type": "application/json" },
      body: '{"model":"m","stream":true}',
      signal,
    });
  return { proxy, call, port, token };
}

describe("credential proxy: model outages", () => {
  it.each<[string, Fault[]]>([
    ["a stretch of HTTP 500", ["500", "500", "500", "ok"]],
    ["a reset before any answer", ["reset-before-answer", "ok"]],
    ["an answer cut off halfway", ["reset-mid-answer", "ok"]],
    ["an answer that stalls halfway", ["stall-mid-answer", "ok"]],
    ["an outage reported inside a 200 stream", ["stream-overloaded", "ok"]],
  ])("rides out %s: the agent gets the model's whole answer once", async (_name, script) => {
    const up = await scriptedUpstream(script);
    const { proxy, call } = await proxyTo(up.origin);
    const res = await call();
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(GOOD);
    expect(up.seen).toHaveLength(script.length);
    expect(proxy.stats().modelRetries).toBe(script.length - 1);
  });

  it("uses the whole window: the last wait is cut short to try once more at its end", async () => {
    const up = await scriptedUpstream(["500", "500", "500", "ok"]);
    const { call } = await proxyTo(up.origin, {
      windowMs: 1_000,
      stallMs: 1_000,
      baseDelayMs: 400,
      maxDelayMs: 400,
    });
    const res = await call();
    expect(res.status).toBe(200);
    expect(up.seen).toHaveLength(4);
  });

  it("waits as long as a 429's Retry-After asks", async () => {
    const up = await scriptedUpstream(["429", "ok"]);
    const { call } = await proxyTo(up.origin);
    const res = await call();
    expect(res.status).toBe(200);
    const [first, second] = up.seen as [number, number];
    expect(second - first).toBeGreaterThanOrEqual(950);
  });

  it("after the window: one 503 model_unavailable the SDKs do not retry, without the upstream's text", async () => {
    const up = await scriptedUpstream(["500"]);
    const { proxy, call } = await proxyTo(up.origin, { ...FAST, windowMs: 400 });
    const res = await call();
    expect(res.status).toBe(503);
    expect(res.headers.get("x-should-retry")).toBe("false");
    const body = (await res.json()) as { error: { type: string; message: string } };
    expect(body.error.type).toBe("model_unavailable");
    expect(body.error.message).toMatch(/kept failing for \d+ s \(\d+ attempts, last: HTTP 500\)/);
    expect(body.error.message).not.toContain("internal detail");
    expect(up.seen.length).toBeGreaterThan(2);
    expect(proxy.stats().modelUnavailable).toBe(1);
  });

  it("passes a refusal (400) through at once, unretried", async () => {
    const up = await scriptedUpstream(["400", "ok"]);
    const { call } = await proxyTo(up.origin);
    const res = await call();
    expect(res.status).toBe(400);
    expect(await res.text()).toBe('{"error":"bad request"}');
    expect(up.seen).toHaveLength(1);
  });

  it("stops retrying when the agent hangs up", async () => {
    const up = await scriptedUpstream(["500"]);
    const { call } = await proxyTo(up.origin, { ...FAST, baseDelayMs: 200, maxDelayMs: 200 });
    const controller = new AbortController();
    const pending = call(controller.signal).catch(() => null);
    while (up.seen.length < 1) await new Promise((r) => setTimeout(r, 10));
    controller.abort();
    await pending;
    const count = up.seen.length;
    await new Promise((r) => setTimeout(r, 600));
    expect(up.seen.length).toBe(count);
  });

  it("holds no memory after an answer, nor after an agent that left halfway through its body", async () => {
    const up = await scriptedUpstream(["ok"]);
    const { proxy, call, port, token } = await proxyTo(up.origin);
    await (await call()).text();
    expect(proxy.stats().bufferedBytes).toBe(0);
    const socket = connect({ port, host: "127.0.0.1" });
    socket.on("error", () => {});
    await new Promise((r) => socket.on("connect", r));
    socket.write(
      `POST /model/v1/messages HTTP/1.1\r\nHost: x\r\nx-api-key: ${token}\r\nContent-Length: 100000\r\n\r\n`,
    );
    socket.write(Buffer.alloc(50_000, 97));
    await waitFor(() => proxy.stats().bufferedBytes >= 50_000 || undefined, "the body held", 5_000);
    socket.destroy();
    await waitFor(() => proxy.stats().bufferedBytes === 0 || undefined, "the body's bytes given back", 5_000);
    expect(up.seen).toHaveLength(1);
  });

  it("streams unretried when the memory budget for retries is spent", async () => {
    const up = await scriptedUpstream(["500", "ok"]);
    const { call } = await proxyTo(up.origin, FAST, { maxBufferedBytes: 4 });
    const res = await call();
    expect(res.status).toBe(500);
    expect(up.seen).toHaveLength(1);
  });
});

describe("retry policy", () => {
  const settings = { windowMs: 120_000, stallMs: 45_000, baseDelayMs: 1_000, maxDelayMs: 15_000 };

  it("backs off exponentially with jitter, capped, unless the server says how long", () => {
    expect(nextDelayMs(1, settings, null, () => 0.5)).toBe(1_000);
    expect(nextDelayMs(3, settings, null, () => 0.5)).toBe(4_000);
    expect(nextDelayMs(10, settings, null, () => 0.5)).toBe(15_000);
    expect(nextDelayMs(1, settings, null, () => 0)).toBe(800);
    expect(nextDelayMs(1, settings, 30_000)).toBe(30_000);
  });

  it("reads Retry-After as seconds or as a date", () => {
    expect(retryAfterMs("2", 0)).toBe(2_000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4_000)).toBe(6_000);
    expect(retryAfterMs("soon", 0)).toBeNull();
    expect(retryAfterMs(undefined, 0)).toBeNull();
  });

  it("finds an outage inside an event stream, not in ordinary text", () => {
    const sse = "text/event-stream";
    expect(streamReportsOutage(Buffer.from('event: error\ndata: {"type":"api_error"}'), sse)).toBe(true);
    expect(streamReportsOutage(Buffer.from('data: {"text":"overloaded_error"}'), sse)).toBe(false);
    expect(
      streamReportsOutage(Buffer.from('event: error\ndata: {"type":"api_error"}'), "application/json"),
    ).toBe(false);
  });
});
