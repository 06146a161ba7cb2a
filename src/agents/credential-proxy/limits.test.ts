// The proxy's caps, against real sockets on loopback: what one agent can take from the host is bounded.
import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { rawRequest, recordingServer, send, statusOf } from "../../../test/doubles/model-upstream.js";
import { silentLogger } from "../../log.js";
import { CredentialProxy } from "./gateway.js";
import type { ProxyLimits } from "./limits.js";

const SECRET = "sk-real-key";
let cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

async function setup(limits: Partial<ProxyLimits> = {}, now?: () => number) {
  const upstream = await recordingServer();
  cleanup.push(upstream.close);
  const proxy = new CredentialProxy({
    model: { provider: "openai", name: "m", baseUrl: `${upstream.origin}/v1`, apiKey: SECRET },
    proxy: { httpProxy: null, httpsProxy: null, noProxy: [] },
    log: silentLogger(),
    host: "127.0.0.1",
    limits,
    now,
  });
  const url = await proxy.listen();
  cleanup.push(() => proxy.close());
  const token = proxy.issueToken("tg:1");
  proxy.bindToken(token, null);
  const auth = { authorization: `Bearer ${token}` };
  return { upstream, proxy, url, token, auth, port: proxy.port };
}

/** Opens a connection and sends half a request; resolves with the socket and when it closed. */
function halfSent(port: number, localAddress = "127.0.0.1") {
  return new Promise<{ socket: Socket; closed: Promise<number> }>((resolve) => {
    const t0 = Date.now();
    const socket = connect({ port, host: "127.0.0.1", localAddress });
    const closed = new Promise<number>((r) => socket.on("close", () => r(Date.now() - t0)));
    socket.on("error", () => {});
    // Read whatever the proxy answers (a 408), so its close is seen.
    socket.resume();
    socket.on("connect", () => {
      socket.write("POST /model/chat/completions HTTP/1.1\r\nHost: x\r\n");
      resolve({ socket, closed });
    });
    socket.on("close", () => resolve({ socket, closed }));
  });
}

describe("credential proxy limits", () => {
  it("answers 413 to a declared body over the cap and forwards nothing", async () => {
    const g = await setup({ maxBodyBytes: 1024 * 1024 });
    const raw = await rawRequest(
      g.port,
      `POST /model/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${g.token}\r\n` +
        `Content-Length: ${200 * 1024 * 1024}\r\n\r\n{"a":`,
    );
    expect(statusOf(raw.answer)).toBe(413);
    expect(g.upstream.seen).toEqual([]);
    expect(g.upstream.bytesReceived()).toBe(0);
  });

  it("stops a streamed body at the cap: 413, upstream aborted with less than the cap", async () => {
    const cap = 1024 * 1024;
    const g = await setup({ maxBodyBytes: cap });
    const answer = await new Promise<string>((resolve) => {
      const socket = connect({ port: g.port, host: "127.0.0.1" });
      let text = "";
      let sent = 0;
      const chunk = Buffer.alloc(64 * 1024, "a");
      const pump = () => {
        while (sent < 20 * cap && !socket.destroyed) {
          sent += chunk.length;
          if (!socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`))
            return void socket.once("drain", pump);
        }
      };
      socket.on("connect", () => {
        socket.write(
          `POST /model/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${g.token}\r\nTransfer-Encoding: chunked\r\n\r\n`,
        );
        pump();
      });
      socket.on("data", (d) => (text += d.toString()));
      socket.on("error", () => {});
      socket.on("close", () => resolve(text));
    });
    expect(statusOf(answer)).toBe(413);
    await new Promise((r) => setTimeout(r, 100));
    expect(g.upstream.bytesReceived()).toBeLessThanOrEqual(cap);
    expect(g.upstream.seen.every((s) => s.bytes <= cap)).toBe(true);
    // ...and the proxy still serves.
    expect((await send(`${g.url}/chat/completions`, { headers: g.auth, body: "{}" })).status).toBe(200);
  });

  it("rate-limits each token with a token bucket (429 with retry-after)", async () => {
    let t = 1_000_000;
    const g = await setup({ rateBurst: 3, ratePerSecond: 1 }, () => t);
    const other = g.proxy.issueToken("tg:2");
    g.proxy.bindToken(other, null);
    const post = (headers: Record<string, string>) =>
      send(`${g.url}/chat/completions`, { headers, body: "{}" });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await post(g.auth)).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const limited = await post(g.auth);
    expect(limited.headers["retry-after"]).toBe("1");
    expect((await post({ authorization: `Bearer ${other}` })).status).toBe(200);
    t += 1_000;
    expect((await post(g.auth)).status).toBe(200);
    expect(g.upstream.seen).toHaveLength(5);
  });

  it("closes connections over the per-address cap at once; other addresses still get in", async () => {
    const g = await setup({ maxConnectionsPerAddress: 4, headersTimeoutMs: 60_000 });
    const flood = await Promise.all(Array.from({ length: 10 }, () => halfSent(g.port)));
    cleanup.push(() => {
      for (const f of flood) f.socket.destroy();
    });
    const closedFast = await Promise.all(
      flood.map((f) => Promise.race([f.closed, new Promise<number>((r) => setTimeout(() => r(-1), 500))])),
    );
    expect(closedFast.filter((ms) => ms >= 0)).toHaveLength(6);
    expect(g.proxy.stats()).toMatchObject({ accepted: 4, refusedPerAddress: 6, open: 4 });
    const bound = g.proxy.issueToken("tg:2");
    g.proxy.bindToken(bound, "127.0.0.2");
    const ok = await send(`${g.url}/chat/completions`, {
      headers: { authorization: `Bearer ${bound}` },
      body: "{}",
      localAddress: "127.0.0.2",
    });
    expect(ok.status).toBe(200);
  });

  it("closes connections over the overall cap, fairly across addresses", async () => {
    const g = await setup({ maxConnections: 3, maxConnectionsPerAddress: 100, headersTimeoutMs: 60_000 });
    const flood = await Promise.all(Array.from({ length: 5 }, () => halfSent(g.port)));
    cleanup.push(() => {
      for (const f of flood) f.socket.destroy();
    });
    const closedFast = await Promise.all(
      flood.map((f) => Promise.race([f.closed, new Promise<number>((r) => setTimeout(() => r(-1), 500))])),
    );
    expect(closedFast.filter((ms) => ms >= 0)).toHaveLength(2);
    expect(g.proxy.stats()).toMatchObject({ accepted: 3, dropped: 2, open: 3 });
    // Full, but a lighter address still gets in: the heaviest one gives up an idle connection.
    const other = g.proxy.issueToken("tg:2");
    g.proxy.bindToken(other, "127.0.0.2");
    const ok = await send(`${g.url}/chat/completions`, {
      headers: { authorization: `Bearer ${other}` },
      body: "{}",
      localAddress: "127.0.0.2",
    });
    expect(ok.status).toBe(200);
    expect(g.proxy.stats()).toMatchObject({ evicted: 1 });
    // Two refused plus the one evicted: three of the five flood connections are gone.
    let closed = 0;
    for (const f of flood) void f.closed.then(() => (closed += 1));
    const deadline = Date.now() + 1_000;
    while (closed < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(closed).toBe(3);
  });

  it("ends the connection after refusing a request whose body is still coming", async () => {
    const g = await setup();
    const raw = await rawRequest(
      g.port,
      `POST /model/files HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${g.token}\r\nContent-Length: 100000000\r\n\r\n{`,
    );
    expect(statusOf(raw.answer)).toBe(404);
    expect(raw.closed).toBe(true);
    expect(g.upstream.seen).toEqual([]);
  });

  it("closes half-sent requests within the header timeout", async () => {
    const g = await setup({ headersTimeoutMs: 1_000 });
    const raw = await rawRequest(g.port, "POST /model/chat/completions HTTP/1.1\r\nHost: x\r\n", {
      timeoutMs: 5_000,
    });
    expect(raw.closed).toBe(true);
    expect(statusOf(raw.answer)).toBe(408);
    const flood = await Promise.all(Array.from({ length: 12 }, () => halfSent(g.port)));
    const times = await Promise.all(flood.map((f) => f.closed));
    expect(Math.max(...times)).toBeLessThan(2_500);
    expect(g.upstream.seen).toEqual([]);
  });

  it("accepts a token only from the address it is bound to", async () => {
    const g = await setup();
    const token = g.proxy.issueToken("tg:9");
    const post = (localAddress: string) =>
      send(`${g.url}/chat/completions`, {
        headers: { authorization: `Bearer ${token}` },
        body: "{}",
        localAddress,
      });
    const unbound = await post("127.0.0.1");
    expect(unbound.status).toBe(403);
    expect(unbound.body).toMatch(/not bound/);
    g.proxy.bindToken(token, "127.0.0.2");
    const elsewhere = await post("127.0.0.1");
    expect(elsewhere.status).toBe(403);
    expect(elsewhere.body).toMatch(/another container/);
    expect(g.upstream.seen).toEqual([]);
    expect((await post("127.0.0.2")).status).toBe(200);
    g.proxy.bindToken(token, "::ffff:127.0.0.3");
    expect((await post("127.0.0.3")).status).toBe(200);
    g.proxy.bindToken(token, null);
    expect((await post("127.0.0.4")).status).toBe(200);
    g.proxy.revokeToken(token);
    expect((await post("127.0.0.4")).status).toBe(401);
    expect(g.upstream.seen).toHaveLength(3);
  });
});
