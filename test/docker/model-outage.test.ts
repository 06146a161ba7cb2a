// Model outages through the whole stack: a real agent container (pi), the real credential proxy and a
// scripted model that fails on command. Outages shorter than the retry window are invisible to the
// chat; a longer one gives one notice and leaves the messages for the turn after the recovery.
import { afterEach, expect, it } from "vitest";
import { MODEL_DOWN_NOTICE } from "../../src/pipeline/failure.js";
import type { ScriptedRequest } from "../doubles/scripted-llm.js";
import { type AgentHarness, startAgentHarness } from "./agent-harness.js";
import { describeDocker } from "./support.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const occurrences = (req: ScriptedRequest, needle: string) =>
  JSON.stringify(req.messages).split(needle).length - 1;

describeDocker("model outages on the real daemon", () => {
  let h: AgentHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it("rides out a stretch of HTTP 500 shorter than the window: the chat gets the real answer only", async () => {
    h = await startAgentHarness({
      chats: [{ chatId: "local:a", folder: "a" }],
      modelRetry: { window: "30s" },
      respond: (req) =>
        req.index < 3 ? { error: { status: 500, message: "upstream exploded" } } : { text: "recovered" },
    });
    expect(await h.ask("local:a", "hello")).toEqual(["recovered"]);
    expect(h.llm.requests).toHaveLength(4);
    expect(h.store.turns.list("local:a").map((t) => t.status)).toEqual(["done"]);
  });

  it("cuts a hung model request at the stall limit and retries it, long before the turn limit", async () => {
    h = await startAgentHarness({
      chats: [{ chatId: "local:b", folder: "b" }],
      modelRetry: { window: "30s", stall: "1s" },
      respond: async (req) => {
        if (req.index === 0) await sleep(8_000);
        return { text: req.index === 0 ? "too late" : "after the stall" };
      },
    });
    const started = Date.now();
    expect(await h.ask("local:b", "hello")).toEqual(["after the stall"]);
    expect(Date.now() - started).toBeLessThan(7_000);
  });

  it("past the window: one notice; the turn after the recovery answers every message, each once in the session", async () => {
    const model = { up: false };
    h = await startAgentHarness({
      chats: [{ chatId: "local:c", folder: "c" }],
      modelRetry: { window: "2s" },
      respond: () =>
        model.up ? { text: "all answered" } : { error: { status: 503, message: "overloaded" } },
    });
    expect(await h.ask("local:c", "first question")).toEqual([MODEL_DOWN_NOTICE]);
    expect(await h.ask("local:c", "second question")).toEqual([]);
    model.up = true;
    expect(await h.ask("local:c", "third question")).toEqual(["all answered"]);
    const last = h.llm.requests.at(-1) as ScriptedRequest;
    // The failed turns were undone in pi's session: the catch-up prompt carries each message once.
    expect(occurrences(last, "first question")).toBe(1);
    expect(occurrences(last, "second question")).toBe(1);
    expect(h.store.turns.cursor("local:c")).toBeGreaterThanOrEqual(3);
  });
});
