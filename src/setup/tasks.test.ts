import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeChat } from "../../test/doubles/chat.js";
import { captureIO } from "../../test/doubles/command-io.js";
import { registerChat } from "../registration/register-chat.js";
import { Store } from "../store/index.js";
import { runSetup } from "./cli.js";

let cwd: string;
let dataDir: string;
beforeEach(() => {
  cwd = mkdtempSync(path.join(tmpdir(), "nestbox-tasks-cli-"));
  dataDir = path.join(mkdtempSync(path.join(tmpdir(), "nestbox-tasks-cli-data-")), "data");
});
afterEach(() => {
  rmSync(cwd, { recursive: true, force: true });
  rmSync(path.dirname(dataDir), { recursive: true, force: true });
});

async function setup(...argv: string[]) {
  const { io, out } = captureIO(
    { ASSISTANT_NAME: "Andy", NESTBOX_DATA_DIR: dataDir, TZ: "Europe/Berlin" },
    cwd,
  );
  const code = await runSetup(argv, io);
  return { code, ...out() };
}

const family = makeChat({ chatId: "tg:-100", folder: "family", name: "Family" });

describe("setup tasks / setup task", () => {
  it("adds, lists, pauses, resumes and cancels a task, with the next run in the configured zone", async () => {
    registerChat(dataDir, { assistantName: "Andy", chat: family });
    const added = await setup(
      "task",
      "add",
      "--chat",
      "tg:-100",
      "--cron",
      "0 8 * * 1-5",
      "--prompt",
      "weather",
    );
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(
      /^Task 1 for tg:-100: cron 0 8 \* \* 1-5, next run in .* 08:00 Europe\/Berlin\.\n$/,
    );
    const listed = await setup("tasks");
    expect(listed.stdout).toMatch(
      /^#1 active · cron 0 8 \* \* 1-5 · group · next run .* · chat tg:-100 · "weather"\n/,
    );
    expect(listed.stdout).toContain("Times are in Europe/Berlin (TZ).");
    expect((await setup("task", "pause", "1")).stdout).toBe("Task 1: paused.\n");
    expect((await setup("task", "resume", "1")).stdout).toMatch(/^Task 1: resumed, next run in /);
    expect((await setup("task", "cancel", "1")).stdout).toBe("Task 1: cancelled.\n");
    expect((await setup("tasks")).stdout).toMatch(/^No scheduled tasks\./);
    const all = await setup("tasks", "--all", "--json");
    expect(JSON.parse(all.stdout)).toMatchObject([{ id: 1, status: "done", prompt: "weather" }]);
    const store = Store.open(dataDir);
    try {
      expect(store.tasks.get(1)).toMatchObject({ status: "done", createdBy: "cli" });
    } finally {
      store.close();
    }
  });

  it("bad input exits 2 with what to fix, and writes nothing", async () => {
    registerChat(dataDir, { assistantName: "Andy", chat: family });
    const both = await setup(
      "task",
      "add",
      "--chat",
      "tg:-100",
      "--cron",
      "0 8 * * *",
      "--every",
      "1h",
      "--prompt",
      "x",
    );
    expect(both).toMatchObject({ code: 2 });
    expect(both.stderr).toContain("exactly one of --cron, --every or --at");
    const short = await setup("task", "add", "--chat", "tg:-100", "--every", "10s", "--prompt", "x");
    expect(short.code).toBe(2);
    expect(short.stderr).toMatch(/shorter than the minimum of 1m/);
    const unknown = await setup("task", "add", "--chat", "tg:-999", "--every", "1h", "--prompt", "x");
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/tg:-999/);
    const id = await setup("task", "pause", "abc");
    expect(id.code).toBe(2);
    expect(id.stderr).toContain('"abc" is not a task id');
    const missing = await setup("task", "resume", "42");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("task 42 does not exist");
    expect((await setup("tasks")).stdout).toMatch(/^No scheduled tasks\./);
  });
});
