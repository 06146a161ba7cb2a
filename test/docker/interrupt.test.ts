import path from "node:path";
import { expect, it } from "vitest";
import { DockerRuntime } from "../../src/containers/docker-runtime.js";
import { Store } from "../../src/store/index.js";
import { startHost } from "../process.js";
import { waitFor } from "../wait.js";
import { useHostFixture } from "./host-fixture.js";
import { AGENT_IMAGE, describeDocker } from "./support.js";

describeDocker("Ctrl-C during a turn: stops at once, loses nothing, answers after restart", () => {
  const h = useHostFixture("nestbox-int-", () => "answered after the restart");
  h.delayMs = 60_000;

  it("exits 130 within seconds, removes its agent, and the next start answers the stored message", async () => {
    const env = { MODEL: "scripted", OPENAI_BASE_URL: h.llm.url, AGENT_IMAGE };
    const first = startHost(h.cwd, env);
    first.send("are you there?");
    await waitFor(() => h.llm.requests.length > 0, "the model request", 60_000);
    expect(h.llm.requests).toHaveLength(1);
    const stoppedAt = Date.now();
    first.child.kill("SIGINT");
    expect(await first.exited()).toBe(130);
    expect(Date.now() - stoppedAt).toBeLessThan(15_000);
    expect(first.stdout()).toBe("");

    const store = Store.open(path.join(h.cwd, "data"));
    const installId = store.meta.installId();
    expect(store.messages.since("local:console", 0).map((m) => m.text)).toEqual(["are you there?"]);
    store.close();
    const docker = new DockerRuntime();
    expect((await docker.list({ "nestbox.install": installId })).filter((c) => c.running)).toEqual([]);

    h.delayMs = 0;
    const second = startHost(h.cwd, env);
    second.endInput();
    expect(await second.exited()).toBe(0);
    expect(second.stdout()).toBe("Andy: answered after the restart\n");
  });
});
