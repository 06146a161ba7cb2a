import { describe, expect, it } from "vitest";
import { noProxyCovers, whatsappProxyAgent } from "./proxy.js";

describe("whatsappProxyAgent", () => {
  it("matches NO_PROXY entries by suffix, wildcard and port", () => {
    expect(noProxyCovers(".whatsapp.com", "web.whatsapp.com")).toBe(true);
    expect(noProxyCovers("localhost, *.whatsapp.com", "web.whatsapp.com")).toBe(true);
    expect(noProxyCovers("web.whatsapp.com:443", "web.whatsapp.com")).toBe(true);
    expect(noProxyCovers("*", "web.whatsapp.com")).toBe(true);
    expect(noProxyCovers(".whatsapp.net,localhost", "web.whatsapp.com")).toBe(false);
    expect(noProxyCovers(undefined, "web.whatsapp.com")).toBe(false);
  });

  it("uses the proxy unless WhatsApp's hosts bypass it", () => {
    expect(whatsappProxyAgent({})).toBeUndefined();
    expect(whatsappProxyAgent({ HTTPS_PROXY: "http://proxy:3128" })).toBeDefined();
    expect(
      whatsappProxyAgent({ https_proxy: "http://proxy:3128", no_proxy: ".whatsapp.com" }),
    ).toBeUndefined();
  });
});
