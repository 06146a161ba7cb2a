import type { Api } from "grammy";
import type { Logger } from "../../log.js";
import { type SendOptions, splitMessage } from "../channel.js";
import { describeFailure } from "./errors.js";
import { callWithRetry, grammySignal, type RetryPolicy, type Sleep } from "./retry.js";

/** Telegram's limit for one text message. */
export const MAX_MESSAGE_LENGTH = 4096;

/** Dependencies of {@link Outbound}. */
export interface OutboundConfig {
  api: Api;
  log: Logger;
  retry: RetryPolicy;
  sleep: Sleep;
  /** A single request that takes longer than this is abandoned and counts as a network failure. */
  requestTimeoutMs: number;
  typingIntervalMs: number;
}

/** Sends text and typing indicators to Telegram chats. */
export class Outbound {
  readonly #c: OutboundConfig;
  readonly #typing = new Map<number, NodeJS.Timeout>();

  constructor(config: OutboundConfig) {
    this.#c = config;
  }

  /**
   * Sends `text` in chunks of at most 4096 characters, split at paragraph or line boundaries, each
   * chunk retried on its own while it certainly did not reach Telegram (see callWithRetry); one that may
   * have arrived is never retried here. Throws the ChannelError of the first chunk that fails.
   */
  async sendText(chatId: number, text: string, signal?: AbortSignal, options?: SendOptions): Promise<void> {
    const chunks = splitMessage(text, MAX_MESSAGE_LENGTH).filter((c) => c.trim() !== "");
    for (const [index, chunk] of chunks.entries()) {
      if (index < (options?.skipChunks ?? 0)) continue;
      await callWithRetry(
        "sendMessage",
        () => this.#c.api.sendMessage(chatId, chunk, {}, grammySignal(this.#timeout())),
        {
          retry: this.#c.retry,
          sleep: this.#c.sleep,
          log: this.#c.log.child({ chatId }),
          signal,
          idempotent: false,
        },
      );
      options?.onChunkSent?.(index + 1);
    }
  }

  /**
   * Shows "typing" now and refreshes it every few seconds (Telegram clears it after about 5 s) until
   * turned off. Never throws and never waits for Telegram: failures are logged at debug level.
   */
  setTyping(chatId: number, active: boolean): void {
    const existing = this.#typing.get(chatId);
    if (!active) {
      if (existing) clearInterval(existing);
      this.#typing.delete(chatId);
      return;
    }
    if (existing) return;
    const ping = () => {
      this.#c.api
        .sendChatAction(chatId, "typing", {}, grammySignal(this.#timeout()))
        .catch((err: unknown) => {
          this.#c.log.debug(
            { chatId, method: "sendChatAction", reason: describeFailure(err) },
            "typing indicator failed",
          );
        });
    };
    ping();
    const timer = setInterval(ping, this.#c.typingIntervalMs);
    timer.unref();
    this.#typing.set(chatId, timer);
  }

  /** Clears every typing refresher (on stop). */
  stopTyping(): void {
    for (const timer of this.#typing.values()) clearInterval(timer);
    this.#typing.clear();
  }

  #timeout(): AbortSignal {
    return AbortSignal.timeout(this.#c.requestTimeoutMs);
  }
}
