import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type OutboxRow, Store } from "../src/store/index.js";
import { type LiveProcess, spawnProcess, tsNode } from "./process.js";

const fixture = path.join(import.meta.dirname, "fixtures", "crash-host.ts");

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** The crash-host fixture on this test's data folder; it reports its progress on stderr. */
function startHost(env: Record<string, string>): LiveProcess {
  return spawnProcess(...tsNode(fixture), {
    env: { ...process.env, DATA_DIR: dir, DELIVERIES: path.join(dir, "deliveries.jsonl"), ...env },
  });
}

const printed = (p: LiveProcess, s: string) => p.waitFor(s, { stream: "stderr", timeoutMs: 20_000 });

function deliveries(): { chatId: string; text: string }[] {
  const file = path.join(dir, "deliveries.jsonl");
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

describe("crash recovery with a real host process killed by SIGKILL", () => {
  it("answers a trigger stored before the crash exactly once after restart", async () => {
    dir = mkdtempSync(path.join(tmpdir(), "nestbox-crash-"));
    const first = startHost({ AGENT: "hang", SEND: "ok" });
    first.send("file:1|m1|@Andy what time is it?");
    await printed(first, "TURN_STARTED");
    await first.kill("SIGKILL");
    expect(deliveries()).toEqual([]);

    const second = startHost({ AGENT: "answer", SEND: "ok" });
    second.endInput();
    expect(await second.exited()).toBe(0);
    expect(second.stderr()).toContain("EXITED_CLEANLY");
    expect(deliveries()).toEqual([{ chatId: "file:1", text: "answer to @Andy what time is it?" }]);

    const third = startHost({ AGENT: "answer", SEND: "ok" });
    third.endInput();
    expect(await third.exited()).toBe(0);
    expect(deliveries()).toHaveLength(1);
  });

  it("delivers a reply stored before the crash exactly once, without re-running the turn", async () => {
    dir = mkdtempSync(path.join(tmpdir(), "nestbox-crash-"));
    const first = startHost({ AGENT: "answer", SEND: "hang" });
    first.send("file:1|m1|@Andy hello");
    await printed(first, "SENDING");
    await first.kill("SIGKILL");
    expect(deliveries()).toEqual([]);

    const second = startHost({ AGENT: "hang", SEND: "ok" });
    second.endInput();
    expect(await second.exited()).toBe(0);
    expect(second.stderr()).not.toContain("TURN_STARTED");
    expect(deliveries()).toEqual([{ chatId: "file:1", text: "answer to @Andy hello" }]);
  });

  it("a SIGKILL after the platform took a reply but before it was marked delivered resends it once, counted", async () => {
    dir = mkdtempSync(path.join(tmpdir(), "nestbox-crash-"));
    const first = startHost({ AGENT: "answer", SEND: "post-then-hang" });
    first.send("file:1|m1|@Andy hello");
    await printed(first, "POSTED");
    await first.kill("SIGKILL");
    expect(deliveries()).toHaveLength(1);

    for (let run = 0; run < 2; run++) {
      const next = startHost({ AGENT: "hang", SEND: "ok" });
      next.endInput();
      expect(await next.exited()).toBe(0);
    }
    expect(deliveries()).toEqual([
      { chatId: "file:1", text: "answer to @Andy hello" },
      { chatId: "file:1", text: "answer to @Andy hello" },
    ]);
    expect(outboxRow()).toMatchObject({ status: "delivered", maybeSent: 1, resends: 1 });
  });

  it("a second SIGKILL during the resend does not send a third copy: the row is failed-maybe-sent", async () => {
    dir = mkdtempSync(path.join(tmpdir(), "nestbox-crash-"));
    const first = startHost({ AGENT: "answer", SEND: "post-then-hang" });
    first.send("file:1|m1|@Andy hello");
    await printed(first, "POSTED");
    await first.kill("SIGKILL");

    const second = startHost({ AGENT: "hang", SEND: "post-then-hang" });
    await printed(second, "POSTED");
    await second.kill("SIGKILL");
    expect(deliveries()).toHaveLength(2);

    const third = startHost({ AGENT: "hang", SEND: "ok" });
    third.endInput();
    expect(await third.exited()).toBe(0);
    expect(deliveries()).toHaveLength(2);
    expect(outboxRow()).toMatchObject({ status: "failed-maybe-sent", maybeSent: 2, resends: 1 });
  });
});

/** The one outbox row of this test's store. */
function outboxRow(): OutboxRow | undefined {
  const store = Store.open(dir);
  try {
    return store.outbox.list()[0];
  } finally {
    store.close();
  }
}
