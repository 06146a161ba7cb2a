import { TelegramAdapter } from "./adapter.js";
import type { TelegramAdapterConfig } from "./config.js";

export { CONFLICT_MESSAGE, UNAUTHORIZED_MESSAGE } from "./errors.js";
export type { RetryPolicy, Sleep } from "./retry.js";
export {
  PRIVACY_MODE_PROBLEM,
  type TelegramVerification,
  type VerifyTelegramOptions,
  verifyTelegram,
} from "./verify.js";
export { TelegramAdapter, type TelegramAdapterConfig };

/** Creates the Telegram channel (grammy, long polling); wire it in `main.ts`. */
export function createTelegramAdapter(config: TelegramAdapterConfig): TelegramAdapter {
  return new TelegramAdapter(config);
}
