import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { DiskGuard } from "../src/agents/disk-guard.js";
import { ChannelRegistry } from "../src/channels/registry.js";
import { AgentError } from "../src/errors.js";
import { type Logger, silentLogger } from "../src/log.js";
import { Pipeline } from "../src/pipeline/pipeline.js";
import type { RegisteredChat } from "../src/registration/chat.js";
import { Store } from "../src/store/index.js";
import { captureLog } from "./doubles/capture-log.js";
import { makeChat } from "./doubles/chat.js";
import { type InProcessAgent, InProcessRuntime } from "./doubles/in-process-runtime.js";
import { MemoryChannel } from "./doubles/memory-channel.js";
import { waitFor } from "./wait.js";

const chat = (chatId: string, folder: string, over: Partial<RegisteredChat> = {}) =>
  makeChat({ chatId, name: folder, folder, ...over });

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function setup(
  agent: InProcessAgent,
  chats: RegisteredChat[] = [chat("mem:group", "group")],
  disk?: (dataDir: string) => DiskGuard,
  log: Logger = silentLogger(),
) {
  const dir = mkdtempSync(path.join(tmpdir(), "nestbox-host-"));
  const store = Store.open(dir);
  for (const c of chats) store.chats.insert(c);
  const channel = new MemoryChannel();
  const runtime = new InProcessRuntime(agent);
  const guard = disk?.(dir);
  const make = () =>
    new Pipeline({
      store,
      registry: new ChannelRegistry([channel], silentLogger()),
      runtime,
      log,
      maxConcurrentAgents: 2,
      limits: { maxMessages: 50, maxChars: 20_000, timezone: "UTC" },
      delivery: { retryDelayMs: 10, maxRetryDelayMs: 20 },
      disk: guard,
    });
  cleanups.push(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { dir, store, channel, runtime, make };
}

/** A disk guard with plenty of free space, checking running turns often. */
const diskGuard = (dataDir: string) =>
  new DiskGuard({
    dataDir,
    chatLimitMb: 2048,
    reserveMb: 0,
    log: silentLogger(),
    freeSpace: () => ({ bytes: 1e12, inodes: 1e9 }),
    watchIntervalMs: 20,
  });

describe("Pipeline", () => {
  it("answers a triggered message and keeps untriggered ones as context for the next turn", async () => {
    const t = setup(async (req) => `seen ${req.prompt.match(/<message /g)?.length} messages`);
    const host = t.make();
    await host.start();
    await t.channel.receive("mem:group", "we need milk");
    await t.channel.receive("mem:group", "and eggs");
    await host.drain();
    expect(t.channel.sent).toEqual([]);
    await t.channel.receive("mem:group", "@Andy what do we need?");
    await host.drain();
    expect(t.channel.sent).toEqual([{ chatId: "mem:group", text: "seen 3 messages" }]);
    expect(t.runtime.requests[0]?.prompt).toContain("we need milk");
    await t.channel.receive("mem:group", "@Andy and now?");
    await host.drain();
    expect(t.channel.sent[1]?.text).toBe("seen 1 messages");
    expect(t.store.sessions.get("mem:group")).toBe("session-group");
    expect(t.channel.typing).toContainEqual({ chatId: "mem:group", active: true });
    await host.stop();
  });

  it("stores messages of unregistered chats but never dispatches them", async () => {
    const t = setup(async () => "never");
    const host = t.make();
    await host.start();
    await t.channel.receive("mem:stranger", "@Andy hello?");
    await host.drain();
    expect(t.store.messages.count("mem:stranger")).toBe(1);
    expect(t.runtime.requests).toEqual([]);
    expect(t.channel.sent).toEqual([]);
    await host.stop();
  });

  it("processes a redelivered message once", async () => {
    const t = setup(async () => "once");
    const host = t.make();
    await host.start();
    await t.channel.receive("mem:group", "@Andy hi", { messageId: "same" });
    await t.channel.receive("mem:group", "@Andy hi", { messageId: "same" });
    await host.drain();
    expect(t.channel.sent.map((s) => s.text)).toEqual(["once"]);
    await host.stop();
  });

  it("batches messages that arrive during a turn into the next turn", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const t = setup(async (req) => {
      if (t.runtime.requests.length === 1) await gate;
      return req.prompt.includes("second") ? "batched: second+third" : "first done";
    });
    const host = t.make();
    await host.start();
    await t.channel.receive("mem:group", "@Andy first");
    await t.channel.receive("mem:group", "@Andy second");
    await t.channel.receive("mem:group", "@Andy third");
    release();
    await host.drain();
    expect(t.runtime.requests).toHaveLength(2);
    expect(t.runtime.requests[1]?.prompt).toContain("second");
    expect(t.runtime.requests[1]?.prompt).toContain("third");
    expect(t.runtime.requests[1]?.prompt).not.toContain("first");
    expect(t.channel.sent.map((s) => s.text)).toEqual(["first done", "batched: second+third"]);
    await host.stop();
  });

  it("keeps replies while the platform is unreachable and sends them after it reconnects", async () => {
    const t = setup(async () => "kept safe");
    const host = t.make();
    await host.start();
    t.channel.online = false;
    await t.channel.receive("mem:group", "@Andy hi");
    await host.drain();
    expect(t.channel.sent).toEqual([]);
    expect(t.store.outbox.pending()).toHaveLength(1);
    t.channel.reconnect();
    await host.drain();
    await new Promise((r) => setTimeout(r, 30));
    await host.delivery.idle();
    expect(t.channel.sent.map((s) => s.text)).toEqual(["kept safe"]);
    expect(t.store.outbox.pending()).toEqual([]);
    await host.stop();
  });

  it("a chat whose sends hang does not delay another chat's reply", async () => {
    const t = setup(
      async (req) => `re: ${req.prompt.match(/>(@Andy[^<]*)</)?.[1]}`,
      [chat("mem:slow", "slow"), chat("mem:fast", "fast")],
    );
    const host = t.make();
    await host.start();
    const release = t.channel.hang("mem:slow");
    await t.channel.receive("mem:slow", "@Andy one");
    await waitFor(() => t.channel.attempted.some((a) => a.chatId === "mem:slow"), "slow chat's send started");
    await t.channel.receive("mem:fast", "@Andy two");
    await waitFor(() => t.channel.sent.some((s) => s.chatId === "mem:fast"), "fast chat's reply", 3000);
    // The other reply arrived while the first chat's send is still hanging.
    expect(t.channel.sent).toEqual([{ chatId: "mem:fast", text: "re: @Andy two" }]);
    release();
    await host.drain();
    expect(t.channel.sent.map((s) => s.chatId)).toEqual(["mem:fast", "mem:slow"]);
    await host.stop();
  });

  it("keeps a chat's replies in order while its sends fail and recover", async () => {
    const t = setup(async (req) => `re: ${req.prompt.match(/>(@Andy[^<]*)</)?.[1]}`);
    const host = t.make();
    await host.start();
    t.channel.online = false;
    await t.channel.receive("mem:group", "@Andy one");
    await host.drain();
    await t.channel.receive("mem:group", "@Andy two");
    await host.drain();
    t.channel.reconnect();
    await waitFor(() => t.channel.sent.length === 2, "both replies");
    expect(t.channel.sent.map((s) => s.text)).toEqual(["re: @Andy one", "re: @Andy two"]);
    await host.stop();
  });

  it("resends a reply whose answer was lost at most once, and counts it", async () => {
    const t = setup(async () => "posted, answer lost");
    const host = t.make();
    await host.start();
    t.channel.deliverThenLoseAnswer = 100;
    await t.channel.receive("mem:group", "@Andy hi");
    await waitFor(() => t.store.outbox.list()[0]?.status === "failed-maybe-sent", "given up", 3000);
    await new Promise((r) => setTimeout(r, 60));
    expect(t.channel.sent.map((s) => s.text)).toEqual(["posted, answer lost", "posted, answer lost"]);
    expect(t.store.outbox.list()[0]).toMatchObject({ maybeSent: 2, resends: 1, attempts: 2 });
    await host.stop();
  });

  it("sends the chat a short, friendly error reply when the turn fails; the detail stays on the host", async () => {
    const t = setup(async () => {
      throw new AgentError("AGENT_START_FAILED", "cannot create container from ux-agent:live: No such image");
    });
    const host = t.make();
    await host.start();
    await t.channel.receive("mem:group", "@Andy hi");
    await host.drain();
    expect(t.channel.sent.map((s) => s.text)).toEqual([
      "Sorry, something went wrong and I couldn't answer that.",
    ]);
    expect(t.store.turns.list("mem:group")[0]).toMatchObject({
      status: "failed",
      errorCode: "AGENT_START_FAILED",
      error: "cannot create container from ux-agent:live: No such image",
    });
    expect(t.store.turns.cursor("mem:group")).toBe(1);
    await host.stop();
  });

  it("recovers at startup: resends undelivered replies and re-runs unanswered triggers", async () => {
    const t = setup(async () => "recovered answer", [chat("mem:a", "a"), chat("mem:b", "b")]);
    const now = Date.now();
    const mA = t.store.messages.insert(
      "memory",
      {
        chatId: "mem:a",
        messageId: "1",
        senderId: "u",
        senderName: "A",
        text: "@Andy q",
        timestamp: now,
        fromMe: false,
        mentionsAssistant: false,
      },
      true,
      now,
    );
    t.store.commitReply("mem:a", null, "stored before the crash", mA?.seq ?? 0, now);
    t.store.messages.insert(
      "memory",
      {
        chatId: "mem:b",
        messageId: "1",
        senderId: "u",
        senderName: "B",
        text: "@Andy q",
        timestamp: now,
        fromMe: false,
        mentionsAssistant: false,
      },
      true,
      now,
    );
    t.store.turns.start("mem:b", 1, 2, now);
    const host = t.make();
    await host.start();
    await host.drain();
    expect(t.channel.sent).toEqual([
      { chatId: "mem:a", text: "stored before the crash" },
      { chatId: "mem:b", text: "recovered answer" },
    ]);
    expect(t.runtime.requests.map((r) => r.chat.chatId)).toEqual(["mem:b"]);
    expect(t.store.turns.list("mem:b")[0]?.status).toBe("interrupted");
    await host.stop();
  });

  it("leaves a reply for a chat no channel owns pending, and says why", async () => {
    const logs = captureLog();
    const t = setup(async () => "x", [chat("other:1", "o", { isMain: true })], undefined, logs.log);
    const host = t.make();
    await host.start();
    const now = Date.now();
    t.store.commitReply("other:1", null, "nowhere to go", 0, now);
    t.store.commitReply("other:1", null, "still nowhere", 0, now);
    host.delivery.kick();
    await host.drain();
    host.delivery.kick();
    await host.drain();
    expect(t.store.outbox.pending()).toHaveLength(2);
    const why = logs.lines.filter((l) => l.chatId === "other:1" && /no running channel owns/.test(l.msg));
    // Once per chat, not once per row and pass: a chat without its channel must not flood the log.
    expect(why).toHaveLength(1);
    expect(why[0]?.level).toBe(40);
    await host.stop();
  });

  it("refuses a turn while the chat's folder is over its disk limit, and answers again once it shrinks", async () => {
    const t = setup(
      async () => "answered",
      [chat("mem:group", "group", { limits: { diskMb: 1 } })],
      diskGuard,
    );
    const big = path.join(t.dir, "groups", "group", "big.bin");
    mkdirSync(path.dirname(big), { recursive: true });
    writeFileSync(big, Buffer.alloc(2 * 1024 * 1024, 1));
    const host = t.make();
    await host.start();
    await t.channel.receive("mem:group", "@Andy hi");
    await host.drain();
    expect(t.runtime.requests).toEqual([]);
    expect(t.channel.sent[0]?.text).toBe(
      "Sorry, I can't work on this: this chat's folder is full. Delete some files and ask again.",
    );
    expect(t.store.turns.list("mem:group")[0]?.error).toMatch(
      /^this chat's folder uses 2 MB, over its 1 MB limit \(AGENT_DISK_MB\)/,
    );
    rmSync(big);
    await t.channel.receive("mem:group", "@Andy and now?");
    await host.drain();
    expect(t.channel.sent.map((s) => s.text).at(-1)).toBe("answered");
    await host.stop();
  });

  it("stops a running turn whose agent fills its folder past the limit, and says why", async () => {
    const t = setup(
      (req) =>
        (async function* () {
          writeFileSync(path.join(t.dir, "groups", "group", "fill.bin"), Buffer.alloc(2 * 1024 * 1024, 1));
          await new Promise<void>((resolve) => req.signal.addEventListener("abort", () => resolve()));
          throw new AgentError("AGENT_CRASHED", "the agent container exited with code 137");
        })(),
      [chat("mem:group", "group", { limits: { diskMb: 1 } })],
      diskGuard,
    );
    mkdirSync(path.join(t.dir, "groups", "group"), { recursive: true });
    const host = t.make();
    await host.start();
    await t.channel.receive("mem:group", "@Andy write a lot");
    await host.drain();
    expect(t.channel.sent.map((s) => s.text)).toEqual([
      "Sorry, I can't work on this: this chat's folder is full. Delete some files and ask again.",
    ]);
    expect(t.store.turns.list("mem:group")[0]).toMatchObject({
      status: "failed",
      error: expect.stringMatching(/^this chat's folder uses 2 MB, over its 1 MB limit/),
    });
    await host.stop();
  });

  it("lets a turn's agent post to its own chat; only the main chat may name another, registered one", async () => {
    const t = setup(
      async (req) => {
        const outcomes: string[] = [];
        for (const args of [
          { text: "working on it" },
          { text: "psst", chatId: "mem:other" },
          { text: "hi", chatId: "mem:stranger" },
        ]) {
          outcomes.push(
            await req
              .onToolCall({ type: "tool_call", turnId: "t", callId: "c", name: "send_message", args })
              .then(
                (r) => r,
                (e: Error) => `refused: ${e.message}`,
              ),
          );
        }
        return outcomes.join(" | ");
      },
      [chat("mem:main", "main", { isMain: true }), chat("mem:group", "group"), chat("mem:other", "other")],
    );
    const host = t.make();
    await host.start();
    await t.channel.receive("mem:group", "@Andy go");
    await host.drain();
    expect(t.channel.sent).toEqual([
      { chatId: "mem:group", text: "working on it" },
      {
        chatId: "mem:group",
        text: "sent to mem:group | refused: only the main chat may send to other chats | refused: only the main chat may send to other chats",
      },
    ]);
    await t.channel.receive("mem:main", "go");
    await host.drain();
    expect(t.channel.sent.slice(2)).toEqual([
      { chatId: "mem:main", text: "working on it" },
      { chatId: "mem:other", text: "psst" },
      {
        chatId: "mem:main",
        text: "sent to mem:main | sent to mem:other | refused: mem:stranger is not a registered chat",
      },
    ]);
    await host.stop();
  });
});
