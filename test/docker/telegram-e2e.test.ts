import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { CommandIO } from "../../src/cli/io.js";
import { runSetup } from "../../src/setup/cli.js";
import { Store } from "../../src/store/index.js";
import { type ScriptedLlm, startScriptedLlm } from "../doubles/scripted-llm.js";
import { TelegramBotApiDouble } from "../doubles/telegram-bot-api.js";
import { startHost } from "../process.js";
import { waitFor } from "../wait.js";
import { AGENT_IMAGE, describeDocker } from "./support.js";

const GROUP = -1001234567890;

describeDocker("Telegram end to end: the real host process, a registered group, the Bot API double", () => {
  let llm: ScriptedLlm;
  let tg: TelegramBotApiDouble;
  let cwd: string;
  beforeAll(async () => {
    llm = await startScriptedLlm({
      format: "openai",
      host: "127.0.0.1",
      respond: (req) => ({
        text: `Hello from the agent; you said ${/what's up[^<]*/.exec(JSON.stringify(req.messages))?.[0]}`,
      }),
    });
    tg = new TelegramBotApiDouble();
    await tg.start();
    cwd = mkdtempSync(path.join(tmpdir(), "nestbox-tg-e2e-"));
    const io: CommandIO = { stdout: { write: () => true }, stderr: { write: () => true }, env: {}, cwd };
    const code = await runSetup(
      ["register", "--channel", "telegram", "--jid", `tg:${GROUP}`, "--name", "Family", "--folder", "family"],
      io,
    );
    expect(code).toBe(0);
  });
  afterAll(async () => {
    await llm.close();
    await tg.close();
    rmSync(cwd, { recursive: true, force: true });
  });

  it("answers a triggered group message through a container; ignores an untriggered one", async () => {
    const host = startHost(cwd, {
      MODEL: "scripted",
      OPENAI_BASE_URL: llm.url,
      OPENAI_API_KEY: "sk-secret",
      AGENT_IMAGE,
      TELEGRAM_BOT_TOKEN: tg.token,
      TELEGRAM_API_ROOT: tg.apiRoot,
    });
    await host.waitFor('"channel":"telegram","msg":"channel started"', { stream: "stderr" });
    tg.pushMessage({
      chatId: GROUP,
      chatType: "supergroup",
      title: "Family",
      text: "just chatting, no trigger",
    });
    tg.pushMessage({ chatId: GROUP, chatType: "supergroup", title: "Family", text: "@Andy what's up?" });
    await waitFor(() => tg.sent(GROUP).length > 0, "the agent's reply in the group", 60_000);
    expect(tg.sent(GROUP)).toEqual(["Hello from the agent; you said what's up?"]);
    expect(llm.requests).toHaveLength(1);
    expect(JSON.stringify(llm.requests[0]?.messages)).toContain("just chatting, no trigger");
    expect(tg.chatActions(GROUP)).toContain("typing");
    host.child.kill("SIGTERM");
    expect(await host.exited()).toBe(0);
    expect(host.stdout()).toBe("");
    // With Telegram configured the terminal chat is neither opened nor registered.
    const store = Store.open(path.join(cwd, "data"));
    expect(store.chats.list().map((c) => c.chatId)).toEqual([`tg:${GROUP}`]);
    store.close();
  });
});
