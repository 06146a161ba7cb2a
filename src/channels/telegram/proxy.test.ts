import { HttpsProxyAgent } from "https-proxy-agent";
import { afterEach, expect, it } from "vitest";
import { connectProxy } from "../../../test/doubles/connect-proxy.js";
import { TelegramFixture, waitFor } from "../../../test/telegram/harness.js";
import { verifyTelegram } from "./index.js";

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

it("sends every Bot API call through the configured proxy agent", async () => {
  const fx = await TelegramFixture.create();
  const proxy = await connectProxy();
  cleanup.push(proxy.close, () => fx.close());
  const proxyAgent = new HttpsProxyAgent(proxy.url);
  const { adapter, received } = await fx.started({ proxyAgent });
  fx.api.pushMessage({ chatId: 10, text: "via the proxy" });
  await waitFor(() => received.length === 1, "the message");
  await adapter.send("tg:10", "reply via the proxy");
  expect(fx.api.sent(10)).toEqual(["reply via the proxy"]);
  const target = new URL(fx.api.apiRoot).host;
  expect(proxy.targets.length).toBeGreaterThan(0);
  expect(new Set(proxy.targets)).toEqual(new Set([target]));

  const before = proxy.targets.length;
  const result = await verifyTelegram({ botToken: fx.api.token, apiRoot: fx.api.apiRoot, proxyAgent });
  expect(result.ok).toBe(true);
  expect(proxy.targets.length).toBeGreaterThan(before);
});
