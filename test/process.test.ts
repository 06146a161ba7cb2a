import { describe, expect, it } from "vitest";
import { runProcess, spawnProcess } from "./process.js";

const node = process.execPath;

describe("the test process helper", () => {
  it("runs to completion with input, and collects both outputs", async () => {
    const echo = "process.stdin.on('data', (d) => process.stdout.write(d)); console.error('e');";
    const r = await runProcess(node, ["-e", echo], { input: "hello" });
    expect(r).toEqual({ code: 0, stdout: "hello", stderr: "e\n" });
  });

  it("rejects on a non-zero exit with the output, unless told not to", async () => {
    const fail = ["-e", "console.error('broken'); process.exit(3)"];
    await expect(runProcess(node, fail)).rejects.toThrow(/exited with 3\nbroken/);
    await expect(runProcess(node, fail, { allowFail: true })).resolves.toMatchObject({ code: 3 });
  });

  it("rejects when the command does not exist", async () => {
    await expect(runProcess("/no/such/command", [])).rejects.toThrow(/ENOENT/);
  });

  it("waits for output, and fails fast when the process exits first", async () => {
    const p = spawnProcess(node, ["-e", "console.log('ready'); setInterval(() => {}, 1000)"]);
    expect(await p.waitFor(/rea.y/)).toBe("ready");
    expect(await p.kill("SIGKILL")).toBeNull();
    const q = spawnProcess(node, ["-e", "console.log('bye')"]);
    await expect(q.waitFor("never")).rejects.toThrow(/exited \(0\) before never[\s\S]*bye/);
  });
});
