import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { DockerRuntime } from "../../src/containers/docker-runtime.js";
import { Store } from "../../src/store/index.js";
import { type ScriptedLlm, startScriptedLlm } from "../doubles/scripted-llm.js";
import { startHost } from "../process.js";
import { waitFor } from "../wait.js";
import { AGENT_IMAGE, describeDocker } from "./support.js";

describeDocker("Ctrl-C during a turn: stops at once, loses nothing, answers after restart", () => {
  let llm: ScriptedLlm;
  let cwd: string;
  let hang = true;
  beforeAll(async () => {
    llm = await startScriptedLlm({
      format: "openai",
      host: "127.0.0.1",
      respond: async () => {
        if (hang) await new Promise((r) => setTimeout(r, 60_000));
        return { text: "answered after the restart" };
      },
    });
    cwd = mkdtempSync(path.join(tmpdir(), "nestbox-int-"));
  });
  afterAll(async () => {
    await llm.close();
    rmSync(cwd, { recursive: true, force: true });
  });

  it("exits 130 within seconds, removes its agent, and the next start answers the stored message", async () => {
    const env = { MODEL: "scripted", OPENAI_BASE_URL: llm.url, AGENT_IMAGE };
    const first = startHost(cwd, env);
    first.send("are you there?");
    await waitFor(() => llm.requests.length > 0, "the model request", 60_000);
    expect(llm.requests).toHaveLength(1);
    const stoppedAt = Date.now();
    first.child.kill("SIGINT");
    expect(await first.exited()).toBe(130);
    expect(Date.now() - stoppedAt).toBeLessThan(15_000);
    expect(first.stdout()).toBe("");

    const store = Store.open(path.join(cwd, "data"));
    const installId = store.meta.installId();
    expect(store.messages.since("local:console", 0).map((m) => m.text)).toEqual(["are you there?"]);
    store.close();
    const docker = new DockerRuntime();
    expect((await docker.list({ "nestbox.install": installId })).filter((c) => c.running)).toEqual([]);

    hang = false;
    const second = startHost(cwd, env);
    second.endInput();
    expect(await second.exited()).toBe(0);
    expect(second.stdout()).toBe("Andy: answered after the restart\n");
  });
});
