import { readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { afterEach, expect, it } from "vitest";
import { processTree } from "../../scripts/bench/memory.js";
import { type LiveProcess, spawnProcess } from "../process.js";
import { npmStartEnv, useHostFixture } from "./host-fixture.js";
import { AGENT_IMAGE, describeDocker } from "./support.js";

const root = path.join(import.meta.dirname, "..", "..");

describeDocker("npm start: the one command, compiled, with npm as the only wrapper", () => {
  const model = useHostFixture("nestbox-npm-start-", () => "hi there");
  let running: LiveProcess | null = null;
  afterEach(async () => {
    await running?.kill("SIGKILL");
    running = null;
    rmSync(path.join(model.cwd, "data"), { recursive: true, force: true });
  });

  const npmStart = (args: string[] = []) => {
    running = spawnProcess("npm", ["start", ...(args.length > 0 ? ["--", ...args] : [])], {
      cwd: root,
      env: npmStartEnv(model, AGENT_IMAGE),
    });
    return running;
  };
  const commandLines = (pid: number) =>
    processTree(pid).map((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0").join(" ");
      } catch {
        return "";
      }
    });

  it("answers a turn from dist/ with no tsx process in the tree; the end of input exits 0", async () => {
    const h = npmStart();
    h.send("hello");
    await h.waitFor("Andy: hi there\n", { timeoutMs: 120_000 });
    const tree = commandLines(h.child.pid as number);
    expect(tree.some((c) => c.includes("dist/src/cli/nestbox.js start"))).toBe(true);
    expect(tree.filter((c) => /tsx|esbuild/.test(c))).toEqual([]);
    // exec: the shell npm runs the script in is replaced by node, not left waiting.
    expect(tree).toHaveLength(2);
    h.endInput();
    expect(await h.exited()).toBe(0);
  });

  it("passes flags through (--terminal) and keeps the exit codes: SIGTERM 0, SIGINT 130", async () => {
    for (const [signal, code] of [
      ["SIGTERM", 0],
      ["SIGINT", 130],
    ] as const) {
      const h = npmStart(["--terminal"]);
      h.send("hello");
      await h.waitFor("Andy: hi there\n", { timeoutMs: 120_000 });
      expect(commandLines(h.child.pid as number).at(-1)).toContain("nestbox.js start --terminal");
      h.child.kill(signal);
      expect(await h.exited()).toBe(code);
    }
  });
});
