// What the credential proxy retries when the model endpoint fails, and how long it waits in between.
// Pure functions: the forwarder (forward.ts) applies them, the tests pin them down.
import { TLS_TRUST_CODES } from "./answers.js";

/** How the proxy rides out a model outage; from MODEL_RETRY_WINDOW and MODEL_STALL_TIMEOUT. */
export interface RetrySettings {
  /** How long one model request is retried before the agent is told the model is unavailable. */
  windowMs: number;
  /** An answer (or its headers) that sends nothing for this long is cut and retried. */
  stallMs: number;
  /** First backoff delay; doubled per attempt up to `maxDelayMs`, with jitter. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetrySettings = {
  windowMs: 120_000,
  stallMs: 45_000,
  baseDelayMs: 1_000,
  maxDelayMs: 15_000,
};

/**
 * Statuses that say "try again later" (timeouts, conflicts, rate limits, server errors, Anthropic's
 * 529 overloaded). Every other status is the model's answer and goes back to the agent as it is.
 */
const RETRYABLE_STATUS = new Set([408, 409, 425, 429, 500, 502, 503, 504, 529]);

export function isRetryableStatus(status: number): boolean {
  return RETRYABLE_STATUS.has(status);
}

/** TLS failures are configuration, not an outage: retrying cannot fix them. */
const PERMANENT_CODES = new Set([...TLS_TRUST_CODES, "CERT_HAS_EXPIRED", "ERR_TLS_CERT_ALTNAME_INVALID"]);

/** A network error worth retrying: anything but a TLS trust failure (refused, reset, DNS, timeouts). */
export function isRetryableError(err: { code?: string }): boolean {
  return !(err.code && PERMANENT_CODES.has(err.code));
}

/**
 * An Anthropic stream can answer 200 and then report an outage inside it (`event: error` with an
 * `overloaded_error` or `api_error`); such a buffered answer is retried like a 529.
 */
export function streamReportsOutage(body: Buffer, contentType: string | undefined): boolean {
  if (!contentType?.includes("text/event-stream")) return false;
  const text = body.toString("utf8");
  const at = text.indexOf("event: error");
  if (at < 0) return false;
  return /"type"\s*:\s*"(overloaded_error|api_error|rate_limit_error)"/.test(text.slice(at, at + 2_000));
}

/**
 * Milliseconds a Retry-After header asks for (seconds or an HTTP date), or null when absent or
 * unreadable.
 */
export function retryAfterMs(header: string | string[] | undefined, now: number): number | null {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return null;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.round(Number(value) * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/**
 * The wait before attempt `attempt + 1` (attempt counts from 1): the server's Retry-After when given,
 * else exponential backoff with +-20% jitter, never past `maxDelayMs` unless the server asked for it.
 */
export function nextDelayMs(
  attempt: number,
  settings: RetrySettings,
  retryAfter: number | null,
  random: () => number = Math.random,
): number {
  if (retryAfter !== null) return retryAfter;
  const base = Math.min(settings.maxDelayMs, settings.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(base * (0.8 + 0.4 * random()));
}
