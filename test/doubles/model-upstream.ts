// Servers for credential-proxy tests: a recording model upstream (answers 200 JSON, or SSE on request)
// and an "attacker" server that only records whether anything reached it, and with what headers.
import { createServer, type IncomingHttpHeaders, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { connect } from "node:net";

/** One request a recording server received; `bytes` is the body size actually delivered. */
export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  bytes: number;
  body: string;
}

export interface RecordingServer {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  port: number;
  seen: SeenRequest[];
  /** Bytes received from every request, complete or not. */
  bytesReceived(): number;
  close(): Promise<void>;
}

/**
 * A server that records every request (and body bytes as they arrive) and answers 200 with a small
 * JSON body. Used as the model upstream and, unchanged, as the attacker an exfiltration would reach.
 */
export async function recordingServer(host = "127.0.0.1"): Promise<RecordingServer> {
  const seen: SeenRequest[] = [];
  let bytes = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (d: Buffer) => {
      bytes += d.length;
      chunks.push(d);
    });
    const record = () => {
      const body = Buffer.concat(chunks);
      seen.push({
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        bytes: body.length,
        body: body.length < 4096 ? body.toString() : "",
      });
    };
    req.on("end", () => {
      record();
      res.writeHead(200, { "content-type": "application/json", "set-cookie": "upstream=1" });
      res.end(JSON.stringify({ ok: true, echo: req.headers }));
    });
    req.on("aborted", record);
    req.on("error", () => {});
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  const port = (server.address() as AddressInfo).port;
  return {
    origin: `http://${host}:${port}`,
    port,
    seen,
    bytesReceived: () => bytes,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** The raw answer to a request written byte for byte on a new connection ("" if closed unanswered). */
export function rawRequest(
  port: number,
  text: string | Buffer,
  options: { host?: string; localAddress?: string; timeoutMs?: number } = {},
): Promise<{ answer: string; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: options.host ?? "127.0.0.1", localAddress: options.localAddress });
    let answer = "";
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ answer, closed: false });
    }, options.timeoutMs ?? 3_000);
    socket.on("connect", () => socket.write(text));
    socket.on("data", (d) => (answer += d.toString("latin1")));
    socket.on("error", () => {});
    socket.on("close", () => {
      clearTimeout(timer);
      resolve({ answer, closed: true });
    });
  });
}

/** The status code of a raw HTTP answer, or 0 when there was none. */
export function statusOf(answer: string): number {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(answer);
  return m ? Number(m[1]) : 0;
}

/** An HTTP request with full control of the source address; resolves with the whole answer. */
export function send(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string; localAddress?: string } = {},
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: options.method ?? "POST", headers: options.headers, localAddress: options.localAddress },
      (res) => {
        let body = "";
        res.on("data", (d: Buffer) => (body += d.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}
