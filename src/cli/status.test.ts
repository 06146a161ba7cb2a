import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect, it } from "vitest";
import { makeChat } from "../../test/doubles/chat.js";
import { loadConfig } from "../config.js";
import type { ContainerInfo, ContainerRuntime } from "../containers/container-runtime.js";
import { Store } from "../store/index.js";
import { printStatus, status } from "./status.js";

it("reports chats with their last turn and running agent, and undelivered replies", async () => {
  const cwd = mkdtempSync(path.join(tmpdir(), "nestbox-status-"));
  const config = loadConfig({}, cwd);
  const store = Store.open(config.dataDir);
  store.meta.set("install_id", "abcd1234");
  store.chats.insert(makeChat({ chatId: "tg:-1" }));
  const turn = store.turns.start("tg:-1", 1, 1, Date.UTC(2026, 10, 25, 9));
  store.turns.finish(turn, "done", Date.UTC(2026, 10, 25, 9, 1));
  store.outbox.add("tg:-1", turn, "waiting", 0);
  store.meta.setDiskLow("the disk holding data has 12 MB free");
  store.close();
  mkdirSync(path.join(config.dataDir, "groups", "family"), { recursive: true });
  writeFileSync(path.join(config.dataDir, "groups", "family", "notes.bin"), Buffer.alloc(3 * 1024 * 1024, 1));
  // A runtime double behind the interface: the engine is not what this test is about.
  const engine = {
    version: async () => "28.0",
    list: async (labels: Record<string, string | undefined>) =>
      labels["nestbox.install"] === "abcd1234"
        ? [
            {
              name: "nestbox-abcd1234-family-aaaaaa",
              running: true,
              labels: { "nestbox.chat": "tg:-1" },
            } as unknown as ContainerInfo,
          ]
        : [],
  } as unknown as ContainerRuntime;
  const report = await status(config, engine);
  expect(report).toEqual({
    installId: "abcd1234",
    docker: "engine 28.0",
    outbox: { pending: 1, failed: 0 },
    chats: [
      {
        chatId: "tg:-1",
        name: "Family",
        folder: "family",
        lastTurn: "done at 2026-11-25T09:00:00.000Z",
        container: "nestbox-abcd1234-family-aaaaaa",
        disk: { usedBytes: expect.any(Number), limitBytes: 2048 * 1024 * 1024 },
      },
    ],
    diskLow: "the disk holding data has 12 MB free",
  });
  expect(report.chats[0]?.disk.usedBytes).toBeGreaterThanOrEqual(3 * 1024 * 1024);
  let out = "";
  printStatus(
    { stdout: { write: (t: string) => (out += t) }, stderr: { write: () => true }, env: {}, cwd },
    report,
    false,
  );
  expect(out).toContain(
    'tg:-1 "Family" (family): last turn done at 2026-11-25T09:00:00.000Z; agent nestbox-abcd1234-family-aaaaaa; disk 3 of 2048 MB',
  );
  expect(out).toContain("Disk:     LOW: the disk holding data has 12 MB free");
  expect(out).toContain("Outbox:   1 pending, 0 failed");
  rmSync(cwd, { recursive: true, force: true });
});
