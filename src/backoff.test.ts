import { describe, expect, it } from "vitest";
import { backoffDelay } from "./backoff.js";

describe("backoffDelay", () => {
  it("doubles from the base per retry, capped", () => {
    const b = { baseMs: 500, maxMs: 30_000 };
    expect([0, 1, 2, 3, 6, 7, 100].map((n) => backoffDelay(n, b))).toEqual([
      500, 1000, 2000, 4000, 30_000, 30_000, 30_000,
    ]);
  });

  it("has no ceiling unless one is given, and never reaches Infinity", () => {
    expect(backoffDelay(2, { baseMs: 500 })).toBe(2000);
    expect(Number.isFinite(backoffDelay(10_000, { baseMs: 500 }))).toBe(true);
  });

  it("adds jitter from the injected random source, still under the cap", () => {
    const b = { baseMs: 1000, maxMs: 30_000, jitter: 0.25 };
    expect(backoffDelay(0, b, () => 0)).toBe(1000);
    expect(backoffDelay(0, b, () => 1)).toBe(1250);
    expect(backoffDelay(3, b, () => 0.5)).toBe(9000);
    for (let i = 0; i < 80; i++) expect(backoffDelay(i, b, () => 1)).toBeLessThanOrEqual(30_000);
  });

  it("treats a negative retry as the first", () => {
    expect(backoffDelay(-3, { baseMs: 100, maxMs: 1000 })).toBe(100);
  });
});
