// Attacks an agent can make on the credential proxy, against real servers on loopback: a recording
// upstream (the model) and an "attacker" server that must never be reached.
import { afterEach, describe, expect, it } from "vitest";
import {
  type RecordingServer,
  rawRequest,
  recordingServer,
  send,
  statusOf,
} from "../../../test/doubles/model-upstream.js";
import type { ModelConfig } from "../../config.js";
import { silentLogger } from "../../log.js";
import { CredentialProxy } from "./gateway.js";

const SECRET = "sk-real-key-0123456789";
let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

async function servers() {
  const upstream = await recordingServer();
  const attacker = await recordingServer();
  cleanup.push(upstream.close, attacker.close);
  return { upstream, attacker };
}

async function gateway(provider: ModelConfig["provider"], baseUrl: string) {
  const proxy = new CredentialProxy({
    model: { provider, name: "m", baseUrl, apiKey: SECRET },
    proxy: { httpProxy: null, httpsProxy: null, noProxy: [] },
    log: silentLogger(),
    host: "127.0.0.1",
  });
  const url = await proxy.listen();
  cleanup.push(() => proxy.close());
  const token = proxy.issueToken("tg:1");
  proxy.bindToken(token, null);
  const origin = new URL(url).origin;
  const auth: Record<string, string> =
    provider === "anthropic" ? { "x-api-key": token } : { authorization: `Bearer ${token}` };
  return { proxy, url, origin, token, auth, port: proxy.port };
}

const reachedNothing = (...s: RecordingServer[]) => {
  for (const server of s) expect(server.seen).toEqual([]);
};

describe("credential proxy under attack", () => {
  it("never sends the key to a host the request names (path-less Anthropic base URL)", async () => {
    const { upstream, attacker } = await servers();
    // A base URL without a port, so a `:port` suffix would have re-pointed it in the old proxy.
    for (const base of [upstream.origin, "http://127.0.0.1"]) {
      const g = await gateway("anthropic", base);
      for (const target of [
        `/model@127.0.0.1:${attacker.port}/v1/messages`,
        `/model:${attacker.port}/v1/messages`,
        `/model.localtest.me:${attacker.port}/v1/messages`,
        `/model.attacker.example/v1/messages`,
        `/model@127.0.0.1:${attacker.port}`,
      ]) {
        const res = await send(`${g.origin}${target}`, { headers: g.auth, body: "{}" });
        expect(res.status, target).toBeGreaterThanOrEqual(400);
        expect(res.status, target).toBeLessThan(500);
        expect(res.body).not.toContain(SECRET);
      }
    }
    reachedNothing(upstream, attacker);
  });

  it("never sends the key elsewhere with an OpenAI /v1 base URL", async () => {
    const { upstream, attacker } = await servers();
    const g = await gateway("openai", `${upstream.origin}/v1`);
    for (const target of [
      `/model@127.0.0.1:${attacker.port}/chat/completions`,
      `/model:${attacker.port}/chat/completions`,
      `/model.127.0.0.1.nip.io:${attacker.port}/chat/completions`,
      `/model/..@127.0.0.1:${attacker.port}/chat/completions`,
    ]) {
      const res = await send(`${g.origin}${target}`, { headers: g.auth, body: "{}" });
      expect([400, 404], target).toContain(res.status);
    }
    // Absolute form names another host in the request line itself.
    const raw = await rawRequest(
      g.port,
      `POST http://127.0.0.1:${attacker.port}/model/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:${attacker.port}\r\n` +
        `Authorization: Bearer ${g.token}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`,
    );
    expect(statusOf(raw.answer)).toBe(400);
    const connect = await rawRequest(
      g.port,
      `CONNECT 127.0.0.1:${attacker.port} HTTP/1.1\r\nHost: 127.0.0.1:${attacker.port}\r\n\r\n`,
    );
    expect(statusOf(connect.answer)).toBe(400);
    reachedNothing(upstream, attacker);
  });

  it("refuses traversal and foreign paths before they reach the upstream", async () => {
    const { upstream } = await servers();
    const g = await gateway("openai", `${upstream.origin}/v1`);
    const cases: [string, string, number][] = [
      ["POST", "/model/../../x", 400],
      ["POST", "/model/../api/pull", 400],
      ["POST", "/model/%2e%2e/x", 400],
      ["POST", "/model/%2E%2E/%2E%2E/api/delete", 400],
      ["POST", "/model%2fx", 400],
      ["POST", "/model/chat%2fcompletions", 400],
      ["POST", "/model//chat/completions", 400],
      ["POST", "/modelXYZ", 404],
      ["POST", "/model/files", 404],
      ["GET", "/model/files", 404],
      ["DELETE", "/model/files/file-abc", 404],
      ["POST", "/model/api/pull", 404],
      ["GET", "/model/chat/completions", 405],
      ["DELETE", "/model/chat/completions", 405],
      ["PUT", "/model/models", 405],
      ["DELETE", "/model/models", 405],
    ];
    for (const [method, target, status] of cases) {
      // Raw, so nothing between the test and the proxy normalises the path first.
      const raw = await rawRequest(
        g.port,
        `${method} ${target} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${g.token}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
      );
      expect(statusOf(raw.answer), `${method} ${target}`).toBe(status);
      expect(raw.answer).not.toContain(SECRET);
    }
    reachedNothing(upstream);
    const ok = await send(`${g.url}/chat/completions`, { headers: g.auth, body: "{}" });
    expect(ok.status).toBe(200);
    expect(upstream.seen.map((s) => `${s.method} ${s.url}`)).toEqual(["POST /v1/chat/completions"]);
  });

  it("survives crash attempts and keeps serving", async () => {
    const { upstream } = await servers();
    const g = await gateway("anthropic", upstream.origin);
    const auth = `x-api-key: ${g.token}\r\n`;
    const attempts: [string, string | Buffer, number][] = [
      [
        "invalid glued URL",
        `GET /model.localtest.me:45035/x HTTP/1.1\r\nHost: x\r\n${auth}Connection: close\r\n\r\n`,
        404,
      ],
      ["not HTTP", "GARBAGE\r\n\r\n", 400],
      ["binary", Buffer.from([0, 1, 2, 255, 13, 10, 13, 10]), 400],
      ["bad content-length", `POST /model/v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: x\r\n\r\n`, 400],
      [
        "both lengths",
        `POST /model/v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
        400,
      ],
      [
        "huge headers",
        `GET /model/v1/messages HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(64 * 1024)}\r\n\r\n`,
        431,
      ],
      ["no host", `POST /model/v1/messages HTTP/1.1\r\n${auth}Content-Length: 0\r\n\r\n`, 400],
      ["control char", `POST /model/v1/mess\x01ages HTTP/1.1\r\nHost: x\r\n\r\n`, 400],
      ["HTTP/0.9 request line, no token", "GET /model/v1/messages\r\n\r\n", 401],
    ];
    for (const [name, text, status] of attempts) {
      const raw = await rawRequest(g.port, text);
      expect(statusOf(raw.answer), name).toBe(status);
      expect(raw.closed, name).toBe(true);
    }
    // Bad chunked encoding once the request is already on its way upstream: the connection is cut.
    const chunked = await rawRequest(
      g.port,
      `POST /model/v1/messages HTTP/1.1\r\nHost: x\r\n${auth}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nZZZ\r\n\r\n`,
    );
    expect(chunked.closed).toBe(true);
    expect([0, 400]).toContain(statusOf(chunked.answer));
    const ok = await send(`${g.url}/v1/messages`, { headers: g.auth, body: "{}" });
    expect(ok.status).toBe(200);
    expect(upstream.seen.filter((s) => s.body === "{}")).toHaveLength(1);
  });

  it("forwards only allowlisted headers and replaces the agent's token with the key", async () => {
    const { upstream } = await servers();
    const g = await gateway("anthropic", upstream.origin);
    const res = await send(`${g.url}/v1/messages?beta=true&redirect=@x`.replace("@x", "x"), {
      headers: {
        ...g.auth,
        authorization: `Bearer ${g.token}`,
        "content-type": "application/json",
        "anthropic-version": "2023-06-01",
        "x-stainless-lang": "js",
        cookie: "session=stolen",
        "proxy-authorization": "Basic eHg6eXk=",
        forwarded: "for=1.2.3.4",
        "x-forwarded-for": "1.2.3.4",
        "x-forwarded-host": "attacker.example",
        "openai-organization": "org-other",
        "x-http-method-override": "DELETE",
      },
      body: "{}",
    });
    expect(res.status).toBe(200);
    expect(res.headers["set-cookie"]).toBeUndefined();
    const seen = upstream.seen[0];
    expect(seen?.url).toBe("/v1/messages?beta=true");
    expect(Object.keys(seen?.headers ?? {}).sort()).toEqual([
      "anthropic-version",
      "connection",
      "content-length",
      "content-type",
      "host",
      "x-api-key",
      "x-stainless-lang",
    ]);
    expect(seen?.headers.host).toBe(new URL(upstream.origin).host);
    expect(seen?.headers["x-api-key"]).toBe(SECRET);
  });
});
