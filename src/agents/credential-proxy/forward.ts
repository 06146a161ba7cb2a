import http, { type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from "node:http";
import https from "node:https";
import { pipeline } from "node:stream";
import type { Logger } from "../../log.js";
import { refuse, upstreamFailure } from "./answers.js";
import { downstreamHeaders } from "./headers.js";
import type { Upstream } from "./routes.js";

/** One admitted request and everything needed to send it to the fixed upstream. */
export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  upstream: Upstream;
  agent: http.Agent | undefined;
  /** Upstream path (and kept query) from the allowlist. */
  path: string;
  headers: OutgoingHttpHeaders;
  maxBodyBytes: number;
  /** Open upstream requests, so closing the proxy can abort them. */
  inflight: Set<http.ClientRequest>;
  log: Logger;
  /** Answers 413 once the body passed the cap (the upstream request is already aborted). */
  onTooLarge: () => void;
}

/**
 * Sends the request upstream and streams the answer back unbuffered. The body is counted as it
 * streams; a client that goes away aborts the upstream request; upstream failures become a 502.
 */
export function forwardUpstream(x: Exchange): void {
  const { req, res, upstream: up, log } = x;
  const started = Date.now();
  const outbound = (up.protocol === "https:" ? https : http).request({
    protocol: up.protocol,
    hostname: up.hostname,
    port: up.port,
    path: x.path,
    method: req.method,
    headers: x.headers,
    agent: x.agent,
  });
  x.inflight.add(outbound);
  outbound.on("close", () => x.inflight.delete(outbound));
  let aborted = false;
  const abort = () => {
    aborted = true;
    outbound.destroy();
  };
  outbound.on("response", (answer) => {
    if (aborted || res.headersSent) {
      answer.destroy();
      return;
    }
    res.writeHead(answer.statusCode ?? 502, downstreamHeaders(answer.headers));
    // pipeline: a client that goes away destroys the upstream answer, and the reverse.
    pipeline(answer, res, (err) => {
      if (err) log.debug({ err }, "model answer stream ended early");
      else log.info({ status: answer.statusCode, ms: Date.now() - started }, "model call");
    });
  });
  outbound.on("error", (err: NodeJS.ErrnoException) => {
    // Aborted here (body cap, client gone): the answer, if any, is already on its way.
    if (aborted) return;
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    const message = upstreamFailure(err, up);
    log.error({ err, upstream: up.origin }, message);
    refuse(res, 502, "upstream_error", message);
  });
  res.on("close", () => {
    if (!res.writableFinished) abort();
  });
  req.on("error", abort);

  let received = 0;
  const onData = (chunk: Buffer) => {
    received += chunk.length;
    if (received > x.maxBodyBytes) {
      req.off("data", onData);
      req.off("end", onEnd);
      abort();
      x.onTooLarge();
      return;
    }
    if (!outbound.write(chunk)) {
      req.pause();
      outbound.once("drain", () => req.resume());
    }
  };
  const onEnd = () => outbound.end();
  req.on("data", onData);
  req.on("end", onEnd);
}
