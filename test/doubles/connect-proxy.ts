import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { connect } from "node:net";
import type { Duplex } from "node:stream";

/** A minimal CONNECT proxy that records the targets it tunnelled to. */
export async function connectProxy(): Promise<{
  url: string;
  targets: string[];
  close: () => Promise<void>;
}> {
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
