import { afterEach, describe, expect, it } from "vitest";
import { TelegramBotApiDouble } from "../../../test/doubles/telegram-bot-api.js";
import { PRIVACY_MODE_PROBLEM, verifyTelegram } from "./index.js";

let api: TelegramBotApiDouble | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

async function double(canRead: boolean): Promise<TelegramBotApiDouble> {
  api = new TelegramBotApiDouble({ bot: { can_read_all_group_messages: canRead } });
  await api.start();
  return api;
}

describe("verifyTelegram", () => {
  it("reports the bot and no problems when it can read group messages", async () => {
    const a = await double(true);
    const result = await verifyTelegram({ botToken: a.token, apiRoot: a.apiRoot });
    expect(result).toEqual({
      ok: true,
      botUsername: "nestbox_test_bot",
      botId: a.bot.id,
      canReadAllGroupMessages: true,
      problems: [],
    });
  });

  it("explains how to turn privacy mode off", async () => {
    const a = await double(false);
    const result = await verifyTelegram({ botToken: a.token, apiRoot: a.apiRoot });
    expect(result.ok).toBe(true);
    expect(result.canReadAllGroupMessages).toBe(false);
    expect(result.problems).toEqual([PRIVACY_MODE_PROBLEM]);
    expect(PRIVACY_MODE_PROBLEM).toContain("@BotFather -> /setprivacy");
    expect(PRIVACY_MODE_PROBLEM).toContain("Disable");
    expect(PRIVACY_MODE_PROBLEM).toMatch(/add it again/);
  });

  it("fails on a rejected token and says what to check", async () => {
    const a = await double(true);
    const result = await verifyTelegram({ botToken: "999:wrong", apiRoot: a.apiRoot });
    expect(result.ok).toBe(false);
    expect(result.botUsername).toBeNull();
    expect(result.problems[0]).toContain("TELEGRAM_BOT_TOKEN");
  });

  it("fails with a network problem when Telegram cannot be reached, without leaking the token", async () => {
    const a = await double(true);
    a.dropNextConnection("getMe");
    const result = await verifyTelegram({ botToken: a.token, apiRoot: a.apiRoot });
    expect(result.ok).toBe(false);
    expect(result.problems[0]).toMatch(/Could not reach Telegram at http:\/\/127\.0\.0\.1:\d+/);
    expect(result.problems[0]).toContain("HTTPS_PROXY");
    expect(result.problems[0]).not.toContain(a.token.split(":")[1]);
  });
});
