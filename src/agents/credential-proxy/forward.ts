import http, { type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from "node:http";
import https from "node:https";
import { pipeline } from "node:stream";
import type { Logger } from "../../log.js";
import { refuse, upstreamFailure } from "./answers.js";
import { downstreamHeaders } from "./headers.js";
import {
  isRetryableError,
  isRetryableStatus,
  nextDelayMs,
  type RetrySettings,
  retryAfterMs,
  streamReportsOutage,
} from "./retry-policy.js";
import type { Upstream } from "./routes.js";

/** Bytes the proxy may hold in memory for retries, shared by every request in flight. */
export class ByteBudget {
  #used = 0;
  constructor(readonly limit: number) {}

  take(bytes: number): boolean {
    if (this.#used + bytes > this.limit) return false;
    this.#used += bytes;
    return true;
  }

  give(bytes: number): void {
    this.#used = Math.max(0, this.#used - bytes);
  }

  get used(): number {
    return this.#used;
  }
}

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
  /** Pending retry timers' cancels, so closing the proxy stops them. */
  waiting: Set<() => void>;
  log: Logger;
  /** Answers 413 once the body passed the cap (nothing was sent upstream). */
  onTooLarge: () => void;
  retry: RetrySettings;
  /** Memory for request bodies and buffered answers; when it is spent, a request streams unretried. */
  budget: ByteBudget;
  /** An answer larger than this streams through unbuffered (and so is not retried once started). */
  maxAnswerBufferBytes: number;
  now: () => number;
  /** Counters: a retry was scheduled; the window ran out. */
  onRetry: () => void;
  onGiveUp: () => void;
}

/**
 * Reads the agent's request, sends it upstream and answers with the model's answer. While the
 * endpoint fails in a way that says "later" (5xx, 429, 529, resets, refused connections, a stream
 * that stalls or reports an outage), the request is resent with backoff for the retry window; the
 * answer is buffered so that a failure halfway through is retried too. After the window the agent
 * gets a 503 `model_unavailable` its SDK does not retry (`x-should-retry: false`).
 */
export function forwardUpstream(x: Exchange): void {
  const chunks: Buffer[] = [];
  let received = 0;
  let held = 0;
  let over = false;
  /** The body went to an Attempts, which gives its budget bytes back. */
  let handedOver = false;
  /** Set once the budget for retries is spent: the rest of the body streams upstream, unretried. */
  let streamed: Attempts | null = null;
  x.req.on("data", (chunk: Buffer) => {
    if (over) return;
    received += chunk.length;
    if (received > x.maxBodyBytes) {
      over = true;
      chunks.length = 0;
      x.budget.give(held);
      held = 0;
      streamed?.abort();
      x.onTooLarge();
      return;
    }
    if (streamed) {
      if (!streamed.write(chunk)) x.req.pause();
      return;
    }
    if (x.budget.take(chunk.length)) {
      held += chunk.length;
      chunks.push(chunk);
      return;
    }
    // The memory shared by all requests is spent (bodies being sent count too): stream this one.
    x.budget.give(held);
    held = 0;
    streamed = new Attempts(x, null, 0);
    streamed.start(chunks.splice(0), () => x.req.resume());
    if (!streamed.write(chunk)) x.req.pause();
  });
  x.req.on("end", () => {
    if (over) return;
    if (streamed) {
      streamed.end();
      return;
    }
    if (x.res.destroyed) return;
    const body = Buffer.concat(chunks);
    chunks.length = 0;
    handedOver = true;
    new Attempts(x, body, held).start();
  });
  // An agent that leaves halfway through its body leaves no budget bytes behind.
  x.req.on("close", () => {
    if (handedOver) return;
    x.budget.give(held);
    held = 0;
    chunks.length = 0;
  });
  x.req.on("error", () => {});
}

/** The attempts of one request, until an answer goes back, the window ends or the agent leaves. */
class Attempts {
  readonly #x: Exchange;
  /** The whole body, or null when it streams through (then there is one attempt, never retried). */
  readonly #body: Buffer | null;
  /** Budget bytes held (the body, then the body plus the buffered answer). */
  #held: number;
  readonly #retrying: boolean;
  #attempt = 0;
  #deadline = 0;
  #started = 0;
  #finished = false;
  /** This attempt has failed (several events may report one failure: schedule one retry). */
  #settled = false;
  #outbound: http.ClientRequest | null = null;
  #cancelWait: (() => void) | null = null;

  /** `held`: the budget bytes the body already took (given back when the request is over). */
  constructor(x: Exchange, body: Buffer | null, held: number) {
    this.#x = x;
    this.#body = body;
    this.#held = held;
    this.#retrying = x.retry.windowMs > 0 && body !== null;
    x.res.on("close", () => {
      if (!x.res.writableFinished) this.#finish();
    });
  }

  /** Sends the first attempt; a streamed body starts with `head`, `onDrain` resumes its source. */
  start(head: Buffer[] = [], onDrain?: () => void): void {
    this.#started = this.#x.now();
    this.#deadline = this.#started + this.#x.retry.windowMs;
    this.#send();
    if (onDrain) this.#outbound?.on("drain", onDrain);
    for (const part of head) this.#outbound?.write(part);
  }

  /** The next part of a streamed body; false: wait for the drain. */
  write(chunk: Buffer): boolean {
    return this.#outbound?.write(chunk) ?? true;
  }

  end(): void {
    this.#outbound?.end();
  }

  /** The body went over the cap: the upstream request is dropped (the caller answers 413). */
  abort(): void {
    this.#finish();
  }

  #send(): void {
    if (this.#finished) return;
    const x = this.#x;
    const up = x.upstream;
    this.#attempt += 1;
    this.#settled = false;
    const outbound = (up.protocol === "https:" ? https : http).request({
      protocol: up.protocol,
      hostname: up.hostname,
      port: up.port,
      path: x.path,
      method: x.req.method,
      headers: this.#body ? { ...x.headers, "content-length": this.#body.length } : x.headers,
      agent: x.agent,
    });
    this.#outbound = outbound;
    x.inflight.add(outbound);
    outbound.on("close", () => x.inflight.delete(outbound));
    let stall: NodeJS.Timeout | undefined;
    let stalled: StallError | null = null;
    const touch = () => {
      clearTimeout(stall);
      stall = setTimeout(() => {
        stalled = new StallError(x.retry.stallMs);
        outbound.destroy(stalled);
      }, x.retry.stallMs);
    };
    const quiet = () => clearTimeout(stall);
    touch();
    outbound.on("response", (answer) => {
      touch();
      answer.on("end", quiet);
      answer.on("close", quiet);
      this.#answered(answer, touch, () => stalled?.message ?? "the answer was cut off");
    });
    outbound.on("error", (err: NodeJS.ErrnoException) => {
      quiet();
      if (this.#finished || outbound !== this.#outbound) return;
      if (x.res.headersSent) {
        x.res.destroy();
        this.#finish();
        return;
      }
      if (this.#retrying && isRetryableError(err)) this.#failed(stalled?.message ?? describeCause(err), null);
      else this.#fatal(err);
    });
    if (this.#body) outbound.end(this.#body);
  }

  #answered(answer: IncomingMessage, touch: () => void, cutOff: () => string): void {
    const x = this.#x;
    const status = answer.statusCode ?? 502;
    if (!this.#retrying) {
      this.#stream(answer, [], status, touch);
      return;
    }
    if (isRetryableStatus(status)) {
      answer.resume();
      answer.on("end", () =>
        this.#failed(`HTTP ${status}`, retryAfterMs(answer.headers["retry-after"], x.now())),
      );
      return;
    }
    const parts: Buffer[] = [];
    let size = 0;
    let streaming = false;
    const onData = (chunk: Buffer) => {
      touch();
      size += chunk.length;
      if (size > x.maxAnswerBufferBytes || !x.budget.take(chunk.length)) {
        // Too big to hold: from here on the answer streams through and cannot be retried.
        streaming = true;
        answer.off("data", onData);
        answer.pause();
        parts.push(chunk);
        this.#stream(answer, parts, status, touch);
        return;
      }
      this.#held += chunk.length;
      parts.push(chunk);
    };
    answer.on("data", onData);
    answer.on("end", () => {
      if (streaming || this.#finished) return;
      const body = Buffer.concat(parts);
      if (status < 300 && streamReportsOutage(body, String(answer.headers["content-type"] ?? ""))) {
        this.#failed("an outage reported inside the stream", null);
        return;
      }
      this.#deliver(status, answer, body);
    });
    answer.on("aborted", () => {
      if (!streaming) this.#failed(cutOff(), null);
    });
    answer.on("error", () => {
      if (!streaming) this.#failed(cutOff(), null);
    });
  }

  /** Sends a complete, buffered answer. */
  #deliver(status: number, answer: IncomingMessage, body: Buffer): void {
    const x = this.#x;
    if (this.#finished || x.res.headersSent) return;
    const headers = downstreamHeaders(answer.headers);
    delete headers["content-length"];
    x.res.writeHead(status, { ...headers, "content-length": body.length });
    x.res.end(body);
    this.#outbound = null;
    if (this.#attempt > 1) {
      x.log.info(
        { status, attempts: this.#attempt, afterMs: x.now() - this.#started },
        "the model answered again after failed attempts",
      );
    } else x.log.info({ status, ms: x.now() - this.#started }, "model call");
    this.#finish();
  }

  /** Streams the rest of an answer through (no retry possible once it started). */
  #stream(answer: IncomingMessage, head: Buffer[], status: number, touch: () => void): void {
    const x = this.#x;
    if (this.#finished || x.res.headersSent) {
      answer.destroy();
      return;
    }
    x.res.writeHead(status, downstreamHeaders(answer.headers));
    for (const part of head) x.res.write(part);
    answer.on("data", touch);
    pipeline(answer, x.res, (err) => {
      if (err) x.log.debug({ err }, "model answer stream ended early");
      else {
        this.#outbound = null;
        x.log.info({ status, ms: x.now() - this.#started }, "model call");
      }
      this.#finish();
    });
  }

  /** A transient failure: wait and resend, or give up when the window would be over. */
  #failed(cause: string, retryAfter: number | null): void {
    const x = this.#x;
    if (this.#finished || this.#settled) return;
    this.#settled = true;
    this.#release(this.#body?.length ?? 0);
    // The last wait is cut to the window's end, so the window is used whole: one more try at its end.
    const left = this.#deadline - x.now();
    const wanted = nextDelayMs(this.#attempt, x.retry, retryAfter);
    if (left <= 0 || (retryAfter !== null && retryAfter > left)) {
      this.#giveUp(cause);
      return;
    }
    const delay = Math.min(wanted, left);
    const fields = { attempt: this.#attempt, cause, retryInMs: delay };
    if (this.#attempt === 1) x.log.warn(fields, "model call failed; retrying");
    else x.log.debug(fields, "model call failed again; retrying");
    x.onRetry();
    const timer = setTimeout(() => {
      x.waiting.delete(cancel);
      this.#cancelWait = null;
      this.#send();
    }, delay);
    const cancel = () => clearTimeout(timer);
    this.#cancelWait = cancel;
    x.waiting.add(cancel);
  }

  #giveUp(cause: string): void {
    const x = this.#x;
    const seconds = Math.round((x.now() - this.#started) / 1000);
    const hint = cause.startsWith("HTTP ")
      ? "the model provider is having an outage"
      : "check the base URL and the proxy settings";
    const message =
      `model endpoint ${x.upstream.origin} kept failing for ${seconds} s ` +
      `(${this.#attempt} attempts, last: ${cause}): ${hint}`;
    x.log.error({ attempts: this.#attempt, cause }, message);
    x.onGiveUp();
    refuse(x.res, 503, "model_unavailable", message, { "x-should-retry": "false" });
    this.#finish();
  }

  /** Not an outage (TLS trust, or no retry possible): a 502 that says what to fix. */
  #fatal(err: NodeJS.ErrnoException): void {
    const x = this.#x;
    const message = upstreamFailure(err, x.upstream);
    x.log.error({ err, upstream: x.upstream.origin }, message);
    refuse(x.res, 502, "upstream_error", message, { "x-should-retry": "false" });
    this.#finish();
  }

  /** Gives back the buffered answer's bytes, keeping the body's (the next attempt resends it). */
  #release(keep: number): void {
    const extra = this.#held - keep;
    if (extra > 0) this.#x.budget.give(extra);
    this.#held = Math.min(this.#held, keep);
  }

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    if (this.#cancelWait) {
      this.#cancelWait();
      this.#x.waiting.delete(this.#cancelWait);
    }
    this.#outbound?.destroy();
    this.#x.budget.give(this.#held);
    this.#held = 0;
  }
}

/** The upstream sent nothing for the stall limit. */
class StallError extends Error {
  readonly code = "ESTALLED";
  constructor(ms: number) {
    super(`no data from the model endpoint for ${Math.round(ms / 1000)} s`);
  }
}

function describeCause(err: NodeJS.ErrnoException): string {
  if (err instanceof StallError) return err.message;
  return err.code ?? err.message;
}
