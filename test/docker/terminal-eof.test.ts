import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type ScriptedLlm, startScriptedLlm } from "../doubles/scripted-llm.js";
import { startHost } from "../process.js";
import { AGENT_IMAGE, describeDocker } from "./support.js";

describeDocker("end of the terminal's input", () => {
  let llm: ScriptedLlm;
  let cwd: string;
  let slow = false;
  beforeAll(async () => {
    llm = await startScriptedLlm({
      format: "openai",
      host: "0.0.0.0",
      respond: async () => {
        if (slow) await new Promise((r) => setTimeout(r, 1500));
        return { text: slow ? "late answer" : "quick answer" };
      },
    });
    cwd = mkdtempSync(path.join(tmpdir(), "nestbox-eof-"));
  });
  afterAll(async () => {
    await llm.close();
    rmSync(cwd, { recursive: true, force: true });
  });
  const host = () =>
    startHost(cwd, { MODEL: "scripted", OPENAI_BASE_URL: llm.url, AGENT_IMAGE, LOG_LEVEL: "warn" });

  it("with nothing pending the host stops at once, silently", async () => {
    slow = false;
    const h = host();
    h.send("hello");
    await h.waitFor("Andy: quick answer\n");
    const ended = Date.now();
    h.endInput();
    expect(await h.exited()).toBe(0);
    expect(Date.now() - ended).toBeLessThan(5000);
    expect(h.stderr()).not.toContain("Waiting for");
  });

  it("with a reply still owed it says it waits for it, then delivers it and exits 0", async () => {
    slow = true;
    const h = host();
    h.send("hello again");
    await new Promise((r) => setTimeout(r, 300));
    h.endInput();
    await h.waitFor("Waiting for 1 reply; Ctrl-C stops now.", { stream: "stderr" });
    expect(await h.exited()).toBe(0);
    expect(h.stdout()).toContain("Andy: late answer\n");
  });
});
