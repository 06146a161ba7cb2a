import { expect, it } from "vitest";
import { startHost } from "../process.js";
import { useHostFixture } from "./host-fixture.js";
import { AGENT_IMAGE, describeDocker } from "./support.js";

describeDocker("end of the terminal's input", () => {
  const model = useHostFixture("nestbox-eof-", (delayed) => (delayed ? "late answer" : "quick answer"));
  const host = () =>
    startHost(model.cwd, {
      MODEL: "scripted",
      OPENAI_BASE_URL: model.llm.url,
      AGENT_IMAGE,
      LOG_LEVEL: "warn",
    });

  it("with nothing pending the host stops at once, silently", async () => {
    model.delayMs = 0;
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
    model.delayMs = 1_500;
    const h = host();
    h.send("hello again");
    await new Promise((r) => setTimeout(r, 300));
    h.endInput();
    await h.waitFor("Waiting for 1 reply; Ctrl-C stops now.", { stream: "stderr" });
    expect(await h.exited()).toBe(0);
    expect(h.stdout()).toContain("Andy: late answer\n");
  });
});
