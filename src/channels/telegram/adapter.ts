import { Bot, BotError, type Context, HttpError } from "grammy";
import type { Message, Update, UserFromGetMe } from "grammy/types";
import { ChannelError, ChannelNetworkError, NotStoredError } from "../../errors.js";
import type { Logger } from "../../log.js";
import {
  type Channel,
  type ChannelState,
  type CommandAnswerHandler,
  chatIdPatterns,
  type InboundHandler,
  type ReadyHandler,
  type SendOptions,
} from "../channel.js";
import { chatIdReply } from "./chatid.js";
import { type ResolvedTelegramConfig, resolveConfig, type TelegramAdapterConfig } from "./config.js";
import { describeFailure, toChannelError } from "./errors.js";
import { chatName, parseChatId, toChatId, toInbound } from "./inbound.js";
import { Outbound } from "./outbound.js";
import { Poller } from "./poller.js";
import { callWithRetry, grammySignal } from "./retry.js";

/**
 * The Telegram channel: grammy over long polling. Each update is stored (or its `/chatid` answer queued
 * in the outbox) before its offset is confirmed; every handler error lands in `bot.catch`.
 */
export class TelegramAdapter implements Channel {
  readonly name = "telegram";
  readonly #c: ResolvedTelegramConfig;
  readonly #log: Logger;
  readonly #bot: Bot;
  readonly #outbound: Outbound;
  readonly #poller: Poller;
  #inbound: InboundHandler = async () => {};
  #commandAnswer: CommandAnswerHandler = async (answer) => {
    this.#log.warn({ chatId: answer.chatId }, "no command answer handler wired: /chatid answer dropped");
  };
  #ready: ReadyHandler = () => {};
  #me: UserFromGetMe | null = null;
  #running = false;
  #fatal: ChannelError | null = null;
  #state: ChannelState = "connecting";
  #stopping: Promise<void> | null = null;
  /** Aborted by stop(), so a start() still retrying gives up instead of polling after shutdown. */
  #lifecycle = new AbortController();

  constructor(config: TelegramAdapterConfig) {
    this.#c = resolveConfig(config);
    this.#log = this.#c.log;
    this.#bot = new Bot(this.#c.botToken, {
      client: {
        apiRoot: this.#c.apiRoot,
        ...(this.#c.proxyAgent ? { baseFetchConfig: { agent: this.#c.proxyAgent } } : {}),
      },
    });
    this.#bot.catch((err) => this.#handlerFailed(err));
    this.#bot.command("chatid", (ctx) => this.#answerChatId(ctx));
    this.#bot.on("message", (ctx) => this.#receive(ctx.message));
    const shared = { api: this.#bot.api, log: this.#log, retry: this.#c.retry, sleep: this.#c.sleep };
    this.#outbound = new Outbound({
      ...shared,
      requestTimeoutMs: this.#c.requestTimeoutMs,
      typingIntervalMs: this.#c.typingIntervalMs,
    });
    this.#poller = new Poller({
      ...shared,
      timeoutSeconds: this.#c.pollTimeoutSeconds,
      dispatch: (update) => this.#handle(update),
      onRecovered: () => {
        this.#state = "connected";
        this.#notifyReady();
      },
      onFailing: (reason) => {
        this.#state = `down: polling fails (${reason}), retrying`;
      },
      onFatal: (error) => this.#halt(error),
    });
  }

  state(): ChannelState {
    return this.#state;
  }

  /** The bot's own account as getMe reported it; null before `start()`. */
  get botInfo(): { id: number; username: string } | null {
    return this.#me ? { id: this.#me.id, username: this.#me.username } : null;
  }

  ownsChatId(chatId: string): boolean {
    return chatIdPatterns.telegram.test(chatId);
  }

  onInbound(handler: InboundHandler): void {
    this.#inbound = handler;
  }

  onReady(handler: ReadyHandler): void {
    this.#ready = handler;
  }

  onCommandAnswer(handler: CommandAnswerHandler): void {
    this.#commandAnswer = handler;
  }

  /**
   * Checks the token (getMe), removes any webhook and makes a first getUpdates call, then polls in the
   * background. Rejects with a ChannelError: TELEGRAM_UNAUTHORIZED (401), TELEGRAM_CONFLICT (409), or a
   * ChannelNetworkError when Telegram stays unreachable for `retry.maxAttempts` attempts (logged at
   * debug only: the channel registry retries the start and logs each attempt once).
   */
  async start(): Promise<void> {
    if (this.#running) return;
    this.#stopping = null;
    this.#fatal = null;
    this.#state = "connecting";
    this.#lifecycle = new AbortController();
    const signal = this.#lifecycle.signal;
    const ctx = {
      retry: this.#c.retry,
      sleep: this.#c.sleep,
      log: this.#log,
      signal,
      failureLevel: "debug" as const,
    };
    try {
      const me = await callWithRetry("getMe", () => this.#bot.api.getMe(grammySignal(signal)), ctx);
      this.#me = me;
      this.#bot.botInfo = me;
      const noDrop = { drop_pending_updates: false };
      await callWithRetry(
        "deleteWebhook",
        () => this.#bot.api.deleteWebhook(noDrop, grammySignal(signal)),
        ctx,
      );
      await this.#poller.start();
      if (signal.aborted) {
        await this.#poller.stop();
        throw new ChannelError(
          "telegram",
          "TELEGRAM_STOPPED",
          "the Telegram channel was stopped while starting",
        );
      }
    } catch (err) {
      const error = err instanceof ChannelError ? err : toChannelError(err, "start");
      if (error instanceof ChannelNetworkError) this.#log.debug({ code: error.code }, error.message);
      else this.#log.error({ code: error.code }, error.message);
      this.#state = `down: ${error.message}`;
      throw error;
    }
    this.#running = true;
    this.#state = "connected";
    this.#log.info({ bot: this.#me?.username }, "Telegram channel started");
    this.#notifyReady();
  }

  /**
   * Sends text, split into 4096-character chunks. Rejects with ChannelError (TELEGRAM_UNAUTHORIZED also
   * stops polling; TELEGRAM_API_ERROR names the method and Telegram's description) or ChannelNetworkError.
   */
  async send(chatId: string, text: string, options?: SendOptions): Promise<void> {
    const id = this.#numericId(chatId);
    try {
      await this.#outbound.sendText(id, text, undefined, options);
    } catch (err) {
      if (err instanceof ChannelError && err.code === "TELEGRAM_UNAUTHORIZED") this.#halt(err);
      throw err;
    }
  }

  /** Shows "typing" (refreshed every few seconds) until called with `false`; never throws or waits. */
  async setTyping(chatId: string, active: boolean): Promise<void> {
    const id = parseChatId(chatId);
    if (id === null) {
      this.#log.debug({ chatId }, "typing indicator for a chat id that is not Telegram's");
      return;
    }
    this.#outbound.setTyping(id, active);
  }

  /** Stops polling (an update being stored finishes), then confirms the offset of the stored ones. */
  stop(): Promise<void> {
    this.#stopping ??= this.#shutdown();
    return this.#stopping;
  }

  async #shutdown(): Promise<void> {
    this.#lifecycle.abort();
    this.#outbound.stopTyping();
    await this.#poller.stop();
    if (this.#running && this.#fatal === null) await this.#poller.confirm();
    this.#running = false;
    if (this.#fatal === null) this.#state = "down: stopped";
  }

  /**
   * Stores one update. Every failure is logged; a NotStoredError is rethrown so the poller leaves the
   * update unconfirmed, any other (raised after storing) lets polling go on.
   */
  async #handle(update: Update): Promise<void> {
    try {
      await this.#bot.handleUpdate(update);
    } catch (err) {
      try {
        if (err instanceof BotError) await this.#bot.errorHandler(err);
        else this.#log.error({ updateId: update.update_id, err }, "Telegram update could not be handled");
      } catch (inner) {
        this.#log.error({ updateId: update.update_id, err: inner }, "Telegram error handler failed");
      }
      const cause = err instanceof BotError ? err.error : err;
      if (cause instanceof NotStoredError) throw cause;
    }
  }

  /** The one place where every handler error lands (grammy's `bot.catch`). */
  #handlerFailed(err: BotError<Context>): void {
    const error = err.error;
    this.#log.error(
      {
        updateId: err.ctx.update.update_id,
        chatId: err.ctx.chat ? toChatId(err.ctx.chat.id) : undefined,
        // An HttpError carries the request URL, and so the token: only its description is logged.
        err: error instanceof HttpError ? undefined : error,
        reason: describeFailure(error),
      },
      "handling a Telegram message failed",
    );
  }

  async #receive(message: Message): Promise<void> {
    if (!this.#me) return;
    if (message.migrate_to_chat_id !== undefined) {
      const to = toChatId(message.migrate_to_chat_id);
      this.#log.warn(
        { chatId: toChatId(message.chat.id), newChatId: to },
        `group became a supergroup: register ${to}`,
      );
    }
    const inbound = toInbound(message, this.#me);
    if (inbound) await this.#inbound(inbound);
  }

  /** Hands the answer to the outbox: a held or failing send never sits between an update and its storing. */
  async #answerChatId(ctx: Context): Promise<void> {
    if (!ctx.chat || !this.#me) return;
    const text = chatIdReply({
      chatId: ctx.chat.id,
      chatName: chatName(ctx.chat),
      isPrivate: ctx.chat.type === "private",
      assistantName: this.#c.assistantName,
      botUsername: this.#me.username,
      ...(this.#c.dataDir ? { dataDir: this.#c.dataDir } : {}),
    });
    await this.#commandAnswer({ chatId: toChatId(ctx.chat.id), text });
  }

  /** Stops polling for good after Telegram refused the token or reported another poller. */
  #halt(error: ChannelError): void {
    if (this.#fatal) return;
    this.#fatal = error;
    this.#state = `down: ${error.message}`;
    this.#log.error({ code: error.code }, error.message);
    void this.#poller.stop();
  }

  #notifyReady(): void {
    try {
      this.#ready();
    } catch (err) {
      this.#log.error({ err }, "onReady handler failed");
    }
  }

  #numericId(chatId: string): number {
    const id = parseChatId(chatId);
    if (id === null) {
      throw new ChannelError(
        "telegram",
        "TELEGRAM_INVALID_CHAT_ID",
        `"${chatId}" is not a Telegram chat id (tg:<id>)`,
      );
    }
    return id;
  }
}
