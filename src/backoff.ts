/** How a retry delay grows: `baseMs * 2^retry`, never above `maxMs`, plus optional jitter. */
export interface Backoff {
  /** The delay before the first retry. */
  baseMs: number;
  /** Ceiling for one delay, jitter included (default: none). */
  maxMs?: number;
  /** Adds up to this fraction of the delay at random (0.25: up to 25% more); default 0. */
  jitter?: number;
}

/**
 * The delay before retry number `retry` (0 for the first): `baseMs * 2^retry`, jittered by
 * `random()` (0..1, injectable for tests), rounded, capped at `maxMs`.
 */
export function backoffDelay(retry: number, backoff: Backoff, random: () => number = Math.random): number {
  const max = backoff.maxMs ?? Number.POSITIVE_INFINITY;
  // The exponent is bounded so a long outage never overflows to Infinity before the cap applies.
  const exp = Math.min(max, backoff.baseMs * 2 ** Math.min(Math.max(0, retry), 30));
  const jitter = backoff.jitter ? backoff.jitter * random() : 0;
  return Math.min(max, Math.round(exp * (1 + jitter)));
}
