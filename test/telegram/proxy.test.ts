import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { connect } from "node:net";
import type { Duplex } from "node:stream";
import { HttpsProxyAgent } from "https-proxy-agent";
import { afterEach, expect, it } from "vitest";
import { verifyTelegram } from "../../src/channels/telegram/index.js";
import { TelegramFixture, waitFor } from "./harness.js";

/** A minimal CONNECT proxy that records the targets it tunnelled to. */
async function connectProxy(): Promise<{ url: string; targets: string[]; close: () => Promise<void> }> {
  const targets: string[] = [];
  const tunnels = new Set<Duplex>();
  const server = createServer((_req, res) => res.writeHead(405).end());
  server.on("connect", (req, socket, head) => {
    targets.push(req.url ?? "");
    tunnels.add(socket);
    socket.on("close", () => tunnels.delete(socket));
    const [host, port] = (req.url ?? "").split(":");
    const upstream = connect(Number(port), host, () => {
      socket.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    upstream.on("error", () => socket.destroy());
    socket.on("error", () => upstream.destroy());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const close = async () => {
    for (const t of tunnels) t.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, targets, close };
}

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
