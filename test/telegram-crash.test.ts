import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Store } from "../src/store/index.js";
import { TelegramBotApiDouble } from "./doubles/telegram-bot-api.js";
import { type LiveProcess, spawnProcess, tsNode } from "./process.js";
import { waitFor } from "./wait.js";

const fixture = path.join(import.meta.dirname, "fixtures", "telegram-crash-host.ts");
const root = path.join(import.meta.dirname, "..");
const A = 5101;
const B = 5102;
const ROUNDS = 6;
const PER_CHAT = 5;

let dir: string;
let api: TelegramBotApiDouble;
let running: LiveProcess | null = null;
afterEach(async () => {
  await running?.kill("SIGKILL");
  await api.close();
  rmSync(dir, { recursive: true, force: true });
});

async function startHost(): Promise<LiveProcess> {
  const host = spawnProcess(...tsNode(fixture), {
    cwd: root,
    env: { ...process.env, DATA_DIR: dir, API_ROOT: api.apiRoot, BOT_TOKEN: api.token },
  });
  running = host;
  await host.waitFor("STARTED", { stream: "stderr", timeoutMs: 30_000 });
  return host;
}

describe("Telegram intake with a real host process killed by SIGKILL", () => {
  it("stores every message exactly once when killed while a chat's /chatid answer is held", async () => {
    dir = mkdtempSync(path.join(tmpdir(), "nestbox-tg-crash-"));
    api = new TelegramBotApiDouble();
    await api.start();
    const pushed: { chatId: number; messageId: number }[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const host = await startHost();
      // Telegram holds every answer: the /chatid one, and any answer left over from an earlier round.
      api.holdNext("sendMessage", Number.POSITIVE_INFINITY, 1000);
      const sends = api.callsOf("sendMessage").length;
      api.pushMessage({
        chatId: A,
        text: "/chatid",
        entities: [{ type: "bot_command", offset: 0, length: 7 }],
      });
      await waitFor(() => api.callsOf("sendMessage").length > sends, "the held /chatid answer", 20_000);
      let last = 0;
      for (let i = 0; i < PER_CHAT; i++) {
        for (const chatId of [A, B]) {
          const u = api.pushMessage({ chatId, text: `round ${round} message ${i}` });
          pushed.push({ chatId, messageId: u.message?.message_id ?? 0 });
          last = u.update_id;
        }
      }
      await waitFor(() => api.confirmedOffset > last, "the round's updates confirmed", 20_000);
      await host.kill("SIGKILL");
    }

    // A last run without held answers: everything left unconfirmed comes back and is stored.
    api.stopHolding("sendMessage");
    const host = await startHost();
    const lastId = api.pushMessage({ chatId: B, text: "last" }).update_id;
    await waitFor(() => api.confirmedOffset > lastId, "every update confirmed", 30_000);
    // Answers left in the outbox go out now; without an outbox they were lost with the process.
    await waitFor(() => api.sent(A).length >= ROUNDS, "the /chatid answers", 10_000).catch(() => {});
    await host.kill("SIGKILL");

    const store = Store.open(dir);
    try {
      const stored = [A, B].flatMap((c) => store.messages.since(`tg:${c}`, 0));
      const ids = stored.map((m) => `${m.chatId}/${m.messageId}`);
      expect(new Set(ids).size).toBe(ids.length);
      const missing = pushed.filter((p) => !ids.includes(`tg:${p.chatId}/${p.messageId}`));
      const answers = api.sent(A).length;
      const rows = store.outbox.list(`tg:${A}`);
      const abandoned = rows.filter((r) => r.status === "failed-maybe-sent").length;
      process.stderr.write(
        `TG CRASH: pushed ${pushed.length}, stored ${stored.length}, missing ${missing.length}, /chatid answers ${answers} (outbox rows ${rows.length}, given up after two ambiguous sends ${abandoned})\n`,
      );
      expect({ stored: stored.length - 1, missing: missing.length }).toEqual({
        stored: ROUNDS * PER_CHAT * 2,
        missing: 0,
      });
      // Each /chatid gets its answer in the outbox (a kill after queueing it but before confirming the
      // update may queue a second). Every answer was killed mid-send at least once here (Telegram held
      // it): one resend at most, then it is given up as "maybe sent" and counted, never resent again.
      expect(rows.length).toBeGreaterThanOrEqual(ROUNDS);
      expect(rows.length).toBeLessThanOrEqual(ROUNDS * 2);
      expect(
        rows.map((r) => r.status).filter((st) => st !== "delivered" && st !== "failed-maybe-sent"),
      ).toEqual([]);
      expect(rows.every((r) => r.resends <= 1)).toBe(true);
      expect(answers).toBe(rows.filter((r) => r.status === "delivered").length);
    } finally {
      store.close();
    }
  }, 240_000);
});
