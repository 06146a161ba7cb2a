import { describe, expect, it } from "vitest";
import { ConfigError } from "../../errors.js";
import { parseUpstream, routeRequest } from "./routes.js";

const anthropic = parseUpstream("https://api.anthropic.com");
const openai = parseUpstream("http://localhost:11434/v1/");

describe("parseUpstream", () => {
  it("fixes origin and base path once", () => {
    expect(anthropic).toMatchObject({ origin: "https://api.anthropic.com", port: 443, basePath: "" });
    expect(openai).toMatchObject({ host: "localhost:11434", port: 11434, basePath: "/v1" });
  });

  it("refuses user info, queries and fragments without echoing a password", () => {
    let error: unknown;
    try {
      parseUpstream("https://user:hunter2@llm.example/v1");
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(String((error as Error).message)).toMatch(/must not contain a user name or password/);
    expect(String((error as Error).message)).not.toContain("hunter2");
    expect(() => parseUpstream("https://llm.example/v1?key=x")).toThrow(/query or fragment/);
    expect(() => parseUpstream("https://llm.example/v1#x")).toThrow(/query or fragment/);
    expect(() => parseUpstream("ftp://llm.example")).toThrow(/http\(s\)/);
  });
});

describe("routeRequest", () => {
  const route = (method: string, target: string, up = anthropic, provider = "anthropic" as const) =>
    routeRequest(method, target, provider, up);
  const oai = (method: string, target: string) => routeRequest(method, target, "openai", openai);

  it("maps the allowlisted routes onto the base path", () => {
    expect(route("POST", "/model/v1/messages")).toMatchObject({ ok: true, path: "/v1/messages" });
    expect(route("POST", "/model/v1/messages/count_tokens")).toMatchObject({ ok: true });
    expect(oai("POST", "/model/chat/completions")).toMatchObject({ ok: true, path: "/v1/chat/completions" });
    expect(oai("GET", "/model/models")).toMatchObject({ ok: true, path: "/v1/models" });
  });

  it("keeps only the allowlisted query", () => {
    expect(route("POST", "/model/v1/messages?beta=true&x=@evil")).toMatchObject({ ok: false, status: 400 });
    expect(route("POST", "/model/v1/messages?beta=true&x=1")).toMatchObject({
      path: "/v1/messages?beta=true",
    });
    expect(oai("POST", "/model/chat/completions?beta=true&api-version=2")).toMatchObject({
      path: "/v1/chat/completions",
    });
  });

  it("refuses ambiguous targets with 400", () => {
    for (const target of [
      "/model@attacker.example:8080/x",
      "/model/../../x",
      "/model/./v1/messages",
      "/model/%2e%2e/x",
      "/model/v1/%6Dessages",
      "/model%2fx",
      "/model/v1//messages",
      "//model/v1/messages",
      "/model/v1\\messages",
      "/model/v1/messages\u0000",
      "/model/v1/messages#x",
      "http://attacker.example/model/v1/messages",
      "attacker.example:443",
      "*",
    ]) {
      expect(route("POST", target), target).toMatchObject({ ok: false, status: 400 });
    }
  });

  it("answers 404 to unknown paths and 405 to wrong methods", () => {
    for (const target of [
      "/modelXYZ",
      "/model",
      "/model.attacker.example/x",
      "/model/files",
      "/model/v1/files",
    ]) {
      expect(route("POST", target), target).toMatchObject({ ok: false, status: 404 });
    }
    expect(oai("POST", "/model/api/pull")).toMatchObject({ ok: false, status: 404 });
    expect(route("GET", "/model/v1/messages")).toMatchObject({ ok: false, status: 405, allow: "POST" });
    expect(oai("DELETE", "/model/models")).toMatchObject({ ok: false, status: 405, allow: "GET" });
    expect(oai("GET", "/model/chat/completions")).toMatchObject({ ok: false, status: 405 });
  });
});
