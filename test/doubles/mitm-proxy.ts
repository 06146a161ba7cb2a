// A TLS-intercepting HTTP(S) proxy for tests, like the ones sandbox VMs and corporate networks put in
// front of all egress: clients send CONNECT (or plain proxied HTTP), the proxy terminates TLS with a
// certificate signed by a CA generated for the test, records every request it saw, and forwards the
// requests for a few fake host names to local HTTP servers (responses streamed, SSE included).
// Anything else gets a 502: nothing it receives ever reaches the internet.
import { writeFileSync } from "node:fs";
import { generateCACertificate, getLocal, type Mockttp } from "mockttp";

/** One request the proxy saw (after TLS interception for HTTPS). */
export interface SeenRequest {
  method: string;
  /** The target host name (the CONNECT/SNI host for HTTPS), without the port. */
  host: string;
  /** Path and query. */
  path: string;
  protocol: string;
  headers: Record<string, string | string[] | undefined>;
}

/** A TLS handshake a client broke off, typically because it does not trust the test CA. */
export interface TlsFailure {
  host: string | null;
  cause: string;
}

export interface MitmProxyOptions {
  /** Fake host name -> local origin it is served by, e.g. `{ "llm.nestbox.test": "http://127.0.0.1:4000" }`. */
  forward: Record<string, string>;
  /** Port to listen on; 0 (default) for any free one. The proxy listens on all interfaces. */
  port?: number;
}

export interface MitmProxy {
  /** The test CA's certificate (PEM): what a client must trust (NODE_EXTRA_CA_CERTS). */
  caPem: string;
  /** Writes {@link caPem} to `file` (world-readable, for bind mounts) and returns the path. */
  writeCa(file: string): string;
  /** The proxy URL for a client on this machine. */
  url: string;
  port: number;
  /** The proxy URL with another host name, e.g. the Docker bridge gateway for containers. */
  urlFor(host: string): string;
  /** Every request seen, in order. */
  requests: SeenRequest[];
  /** TLS handshakes clients aborted (e.g. an untrusted CA). */
  tlsFailures: TlsFailure[];
  close(): Promise<void>;
}

/** Starts the proxy; resolves once it listens. */
export async function startMitmProxy(options: MitmProxyOptions): Promise<MitmProxy> {
  const ca = await generateCACertificate({
    subject: { commonName: "nestbox test MITM CA", organizationName: "nestbox tests" },
  });
  const server: Mockttp = getLocal({ https: { cert: ca.cert, key: ca.key }, http2: false });
  const requests: SeenRequest[] = [];
  const tlsFailures: TlsFailure[] = [];
  await server.start(options.port ?? 0);
  try {
    await server.on("request-initiated", (req) => {
      requests.push({
        method: req.method,
        host: req.destination.hostname,
        path: req.path,
        protocol: req.protocol,
        headers: { ...req.headers },
      });
    });
    await server.on("tls-client-error", (failure) => {
      tlsFailures.push({
        host: failure.tlsMetadata.sniHostname ?? failure.destination?.hostname ?? null,
        cause: failure.failureCause,
      });
    });
    for (const [host, origin] of Object.entries(options.forward)) {
      await server.forAnyRequest().forHostname(host).always().thenForwardTo(origin);
    }
    await server
      .forUnmatchedRequest()
      .thenReply(502, "the test MITM proxy forwards only its configured hosts\n", {
        "content-type": "text/plain",
      });
  } catch (err) {
    await server.stop();
    throw err;
  }
  const port = server.port;
  const urlFor = (host: string) => `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  return {
    caPem: ca.cert,
    writeCa(file) {
      writeFileSync(file, ca.cert.endsWith("\n") ? ca.cert : `${ca.cert}\n`, { mode: 0o644 });
      return file;
    },
    url: urlFor("127.0.0.1"),
    port,
    urlFor,
    requests,
    tlsFailures,
    close: () => server.stop(),
  };
}
