import type { Agent } from "node:http";
import { Api } from "grammy";
import { classify, describeFailure, UNAUTHORIZED_MESSAGE } from "./errors.js";
import { grammySignal } from "./retry.js";

export interface VerifyTelegramOptions {
  botToken: string;
  apiRoot: string;
  proxyAgent?: Agent;
  /** Give up on getMe after this long (default 15 s). */
  timeoutMs?: number;
}

/** What `verifyTelegram` found. `ok` means the token works; `problems` may still hold warnings. */
export interface TelegramVerification {
  ok: boolean;
  botUsername: string | null;
  botId: number | null;
  /** False while privacy mode is on: in groups the bot then only sees commands, mentions and replies. */
  canReadAllGroupMessages: boolean | null;
  /** One line per problem, each saying how to fix it. */
  problems: string[];
}

/** The problem reported while the bot's privacy mode is on, with the fix. */
export const PRIVACY_MODE_PROBLEM =
  "Privacy mode is on, so in groups the bot only sees commands, @mentions and replies to it (a trigger word " +
  "at the start of a message is never delivered). In Telegram, open @BotFather -> /setprivacy -> choose the " +
  "bot -> Disable, then remove the bot from each group and add it again (the change only applies on joining).";

/** Asks Telegram who the bot is (getMe) and explains what must change for nestbox to work well. */
export async function verifyTelegram(options: VerifyTelegramOptions): Promise<TelegramVerification> {
  const api = new Api(options.botToken, {
    apiRoot: options.apiRoot.replace(/\/+$/, ""),
    ...(options.proxyAgent ? { baseFetchConfig: { agent: options.proxyAgent } } : {}),
  });
  try {
    const me = await api.getMe(grammySignal(AbortSignal.timeout(options.timeoutMs ?? 15_000)));
    return {
      ok: true,
      botUsername: me.username,
      botId: me.id,
      canReadAllGroupMessages: me.can_read_all_group_messages,
      problems: me.can_read_all_group_messages ? [] : [PRIVACY_MODE_PROBLEM],
    };
  } catch (err) {
    const failure = classify(err);
    const problem =
      failure.kind === "unauthorized"
        ? `${UNAUTHORIZED_MESSAGE} (copy the token again from @BotFather -> /mybots -> API Token)`
        : failure.kind === "refused"
          ? `Telegram refused getMe (${failure.status}): ${failure.description}`
          : `Could not reach Telegram at ${options.apiRoot}: ${describeFailure(err)}; check the network, ` +
            "HTTPS_PROXY and TELEGRAM_API_ROOT";
    return { ok: false, botUsername: null, botId: null, canReadAllGroupMessages: null, problems: [problem] };
  }
}
