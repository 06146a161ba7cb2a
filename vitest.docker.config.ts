import { defineConfig } from "vitest/config";

// Real-Docker suites share one daemon and a 2-core machine: one file at a time, long timeouts.
export default defineConfig({
  test: {
    include: ["test/docker/**/*.test.ts"],
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 600_000,
  },
});
