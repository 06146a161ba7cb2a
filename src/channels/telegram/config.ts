import type { Agent } from "node:http";
import { ConfigError } from "../../errors.js";
import type { Logger } from "../../log.js";
import { type RetryPolicy, realSleep, type Sleep } from "./retry.js";

/** Everything the Telegram adapter needs, passed in by `main.ts` (it never reads the environment). */
export interface TelegramAdapterConfig {
  botToken: string;
  /** Bot API root without a trailing slash: `https://api.telegram.org`, or a local Bot API server or test double. */
  apiRoot: string;
  /** The assistant's name, used in the help `/chatid` prints. */
  assistantName: string;
  /** The host's data folder when it is not the default `./data`: the command `/chatid` suggests names it. */
  dataDir?: string;
  log: Logger;
  /** An https-proxy-agent instance when traffic must cross a proxy (grammy's `client.baseFetchConfig.agent`). */
  proxyAgent?: Agent;
  /** Retries for each Bot API call; polling keeps retrying at up to `maxDelayMs`. */
  retry?: Partial<RetryPolicy>;
  /** How the adapter waits between retries; tests may record or shorten the delays. */
  sleep?: Sleep;
  /** getUpdates long-polling timeout in seconds (default 30). */
  pollTimeoutSeconds?: number;
  /** One send or typing request is abandoned after this long and retried (default 30 s). */
  requestTimeoutMs?: number;
  /** How often "typing" is refreshed while active (default 4 s; Telegram shows it for about 5 s). */
  typingIntervalMs?: number;
}

/** The config with every default filled in. */
export type ResolvedTelegramConfig = Required<
  Omit<TelegramAdapterConfig, "proxyAgent" | "retry" | "dataDir">
> & {
  proxyAgent?: Agent;
  dataDir?: string;
  retry: RetryPolicy;
};

const DEFAULT_RETRY = { maxAttempts: 5, baseDelayMs: 500, maxDelayMs: 30_000 } satisfies RetryPolicy;

/** Fills in defaults; the logger becomes a `channel: telegram` child. */
export function resolveConfig(config: TelegramAdapterConfig): ResolvedTelegramConfig {
  if (!config.botToken) throw new ConfigError(["TELEGRAM_BOT_TOKEN: set the token @BotFather gave you"]);
  return {
    ...config,
    apiRoot: config.apiRoot.replace(/\/+$/, ""),
    log: config.log.child({ channel: "telegram" }),
    retry: { ...DEFAULT_RETRY, ...config.retry },
    sleep: config.sleep ?? realSleep,
    pollTimeoutSeconds: config.pollTimeoutSeconds ?? 30,
    requestTimeoutMs: config.requestTimeoutMs ?? 30_000,
    typingIntervalMs: config.typingIntervalMs ?? 4_000,
  };
}
