import { setTimeout as delay } from "node:timers/promises";
import type { Api } from "grammy";
import { backoffDelay } from "../../backoff.js";
import type { Logger } from "../../log.js";
import { classify, describeFailure, mayHaveSent, toChannelError, toMaybeSentError } from "./errors.js";

/** How often and how patiently a Bot API call is retried. */
export interface RetryPolicy {
  /** Attempts per call, the first included. */
  maxAttempts: number;
  /** First backoff delay; it doubles per failed attempt. */
  baseDelayMs: number;
  /** Ceiling for one backoff delay (polling keeps retrying at this pace). */
  maxDelayMs: number;
}

/** Waits `ms`, rejecting early when `signal` aborts; injectable so tests can watch or skip delays. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/** Sleeps with node timers. */
export const realSleep: Sleep = async (ms, signal) => {
  await delay(ms, undefined, signal ? { signal } : undefined);
};

/** The delay after `failures` failed attempts in a row (1-based): base * 2^(failures-1), capped. */
export function retryDelay(failures: number, policy: RetryPolicy): number {
  return backoffDelay(failures - 1, { baseMs: policy.baseDelayMs, maxMs: policy.maxDelayMs });
}

/** What callWithRetry needs besides the call. */
export interface RetryContext {
  retry: RetryPolicy;
  sleep: Sleep;
  log: Logger;
  signal?: AbortSignal;
  /**
   * False for calls that must not happen twice (sendMessage): a failure that may have been carried
   * out is thrown at once as a ChannelMaybeSentError, never retried here.
   */
  idempotent?: boolean;
  /** Level of the line logged when the call finally fails (default warn; start's caller logs its own). */
  failureLevel?: "warn" | "debug";
}

/**
 * Runs one Bot API call: 429 waits `retry_after` then retries, network failures and 5xx back off
 * exponentially; after `maxAttempts`, or at once for a refusal, it throws the matching ChannelError.
 * A non-idempotent call is retried only when it certainly did not reach Telegram.
 */
export async function callWithRetry<T>(
  method: string,
  call: () => Promise<T>,
  ctx: RetryContext,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (ctx.signal?.aborted) throw err;
      const failure = classify(err);
      if (ctx.idempotent === false && failure.kind === "transient" && mayHaveSent(err)) {
        const error = toMaybeSentError(err, method);
        ctx.log.warn({ method, code: error.code, attempt, reason: describeFailure(err) }, error.message);
        throw error;
      }
      const retryable = failure.kind === "rate_limited" || failure.kind === "transient";
      if (!retryable || attempt >= ctx.retry.maxAttempts) {
        const error = toChannelError(err, method);
        ctx.log[ctx.failureLevel ?? "warn"](
          { method, code: error.code, attempt, reason: describeFailure(err) },
          error.message,
        );
        throw error;
      }
      const wait = failure.kind === "rate_limited" ? failure.retryAfterMs : retryDelay(attempt, ctx.retry);
      ctx.log.debug(
        { method, attempt, waitMs: wait, reason: describeFailure(err) },
        "Telegram call failed, retrying",
      );
      await ctx.sleep(wait, ctx.signal);
    }
  }
}

/** The AbortSignal type grammy's Node build declares (from the abort-controller polyfill). */
export type GrammySignal = NonNullable<Parameters<Api["getMe"]>[0]>;

/**
 * A native AbortSignal typed for grammy: its client only uses `aborted` and the abort event, which
 * native signals have, but its declarations name the polyfill's class.
 */
export function grammySignal(signal: AbortSignal): GrammySignal {
  return signal as unknown as GrammySignal;
}
