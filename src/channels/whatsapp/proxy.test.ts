import { describe, expect, it } from "vitest";
import { readProxy } from "../../sandbox/index.js";
import { whatsappProxyAgent } from "./proxy.js";

describe("whatsappProxyAgent", () => {
  it("uses the proxy unless WhatsApp's hosts bypass it", () => {
    expect(whatsappProxyAgent(readProxy({}))).toBeUndefined();
    expect(whatsappProxyAgent(readProxy({ HTTPS_PROXY: "http://proxy:3128" }))).toBeDefined();
    expect(
      whatsappProxyAgent(readProxy({ https_proxy: "http://proxy:3128", no_proxy: ".whatsapp.com" })),
    ).toBeUndefined();
    expect(
      whatsappProxyAgent(readProxy({ HTTPS_PROXY: "http://proxy:3128", NO_PROXY: "web.whatsapp.com:443" })),
    ).toBeUndefined();
    expect(
      whatsappProxyAgent(readProxy({ HTTPS_PROXY: "http://proxy:3128", NO_PROXY: ".whatsapp.net" })),
    ).toBeDefined();
  });
});
