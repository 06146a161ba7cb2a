// A model outage longer than the proxy's retry window, as the pipeline sees it: the runner reports
// model_unavailable. The chat is told once, its messages stay unanswered, and they are answered
// when the model is back (automatically, or with the next message).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ChannelRegistry } from "../src/channels/registry.js";
import { AgentError } from "../src/errors.js";
import { silentLogger } from "../src/log.js";
import { MODEL_DOWN_NOTICE } from "../src/pipeline/failure.js";
import { Pipeline } from "../src/pipeline/pipeline.js";
import { AgentErrorCode } from "../src/protocol/error-codes.js";
import { Store } from "../src/store/index.js";
import { makeChat } from "./doubles/chat.js";
import { InProcessRuntime } from "./doubles/in-process-runtime.js";
import { MemoryChannel } from "./doubles/memory-channel.js";
import { waitFor } from "./wait.js";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** A model that is down until `up` is set; answers with how many messages its prompt held. */
function setup(firstDelayMs = 60_000) {
  const model = { up: false };
  const dir = mkdtempSync(path.join(tmpdir(), "nestbox-outage-"));
  const store = Store.open(dir);
  store.chats.insert(makeChat({ chatId: "mem:a", name: "a", folder: "a" }));
  store.chats.insert(makeChat({ chatId: "mem:b", name: "b", folder: "b" }));
  const channel = new MemoryChannel();
  const runtime = new InProcessRuntime(async (req) => {
    if (!model.up) {
      throw new AgentError(
        AgentErrorCode.ModelUnavailable,
        "503 model endpoint https://llm.example kept failing for 120 s (9 attempts, last: HTTP 500)",
      );
    }
    return `answered ${req.prompt.match(/<message /g)?.length} messages`;
  });
  const pipeline = new Pipeline({
    store,
    registry: new ChannelRegistry([channel], silentLogger()),
    runtime,
    log: silentLogger(),
    maxConcurrentAgents: 2,
    limits: { maxMessages: 50, maxChars: 20_000, timezone: "UTC" },
    delivery: { retryDelayMs: 10, maxRetryDelayMs: 20 },
    outageRetry: { firstDelayMs, maxDelayMs: firstDelayMs * 4 },
  });
  cleanups.push(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { model, store, channel, runtime, pipeline };
}

const texts = (c: MemoryChannel, chatId: string) =>
  c.sent.filter((s) => s.chatId === chatId).map((s) => s.text);

describe("model outage past the retry window", () => {
  it("tells the chat once, keeps its messages unanswered, and answers them all with the next message", async () => {
    const t = setup();
    await t.pipeline.start();
    await t.channel.receive("mem:a", "@Andy first question");
    await t.pipeline.drain();
    await t.channel.receive("mem:a", "@Andy second question");
    await t.pipeline.drain();
    expect(texts(t.channel, "mem:a")).toEqual([MODEL_DOWN_NOTICE]);
    expect(t.store.turns.cursor("mem:a")).toBe(0);
    expect(t.store.turns.list("mem:a").map((x) => [x.status, x.errorCode])).toEqual([
      ["failed", "model_unavailable"],
      ["failed", "model_unavailable"],
    ]);
    t.model.up = true;
    await t.channel.receive("mem:a", "@Andy third");
    await t.pipeline.drain();
    expect(texts(t.channel, "mem:a")).toEqual([MODEL_DOWN_NOTICE, "answered 3 messages"]);
    expect(t.store.turns.cursor("mem:a")).toBe(3);
    // The upstream's text never reaches the chat.
    expect(t.channel.sent.some((s) => s.text.includes("kept failing"))).toBe(false);
    await t.pipeline.stop();
  });

  it("runs the waiting chat again on its own after the delay", async () => {
    const t = setup(150);
    await t.pipeline.start();
    await t.channel.receive("mem:a", "@Andy are you there?");
    await t.pipeline.drain();
    expect(t.pipeline.outages.waiting).toEqual(["mem:a"]);
    t.model.up = true;
    await waitFor(
      () => texts(t.channel, "mem:a").length === 2 || undefined,
      "the automatic retry's answer",
      3_000,
    );
    expect(texts(t.channel, "mem:a")).toEqual([MODEL_DOWN_NOTICE, "answered 1 messages"]);
    await t.pipeline.stop();
  });

  it("runs every waiting chat as soon as one chat's turn gets an answer", async () => {
    const t = setup();
    await t.pipeline.start();
    await t.channel.receive("mem:a", "@Andy hello from a");
    await t.pipeline.drain();
    t.model.up = true;
    await t.channel.receive("mem:b", "@Andy hello from b");
    await waitFor(() => texts(t.channel, "mem:a").length === 2 || undefined, "chat a answered", 3_000);
    expect(texts(t.channel, "mem:a")).toEqual([MODEL_DOWN_NOTICE, "answered 1 messages"]);
    expect(texts(t.channel, "mem:b")).toEqual(["answered 1 messages"]);
    expect(t.pipeline.outages.waiting).toEqual([]);
    await t.pipeline.stop();
  });

  it("a new outage after a recovery is told again", async () => {
    const t = setup();
    await t.pipeline.start();
    await t.channel.receive("mem:a", "@Andy one");
    await t.pipeline.drain();
    t.model.up = true;
    await t.channel.receive("mem:a", "@Andy two");
    await t.pipeline.drain();
    t.model.up = false;
    await t.channel.receive("mem:a", "@Andy three");
    await t.pipeline.drain();
    expect(texts(t.channel, "mem:a")).toEqual([MODEL_DOWN_NOTICE, "answered 2 messages", MODEL_DOWN_NOTICE]);
    await t.pipeline.stop();
  });
});
