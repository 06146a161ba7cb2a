import { UnroutableChatError } from "../errors.js";
import type { Logger } from "../log.js";
import type { Channel, ChannelState, CommandAnswer, InboundMessage, SendOptions } from "./channel.js";

/**
 * The channels nestbox runs, wired explicitly in `main.ts`. Routes outbound messages to the one
 * channel that owns a chat id; a chat id nobody owns is an error, never a silent drop.
 */
export class ChannelRegistry {
  readonly #channels: Channel[];
  readonly #log: Logger;

  constructor(channels: Channel[], log: Logger) {
    const names = new Set<string>();
    for (const c of channels) {
      if (names.has(c.name)) throw new Error(`channel "${c.name}" is registered twice`);
      names.add(c.name);
    }
    this.#channels = [...channels];
    this.#log = log;
  }

  /** The channels in wiring order. */
  all(): readonly Channel[] {
    return this.#channels;
  }

  /** The channel that owns `chatId`; throws UnroutableChatError when none does. */
  ownerOf(chatId: string): Channel {
    const owner = this.#channels.find((c) => c.ownsChatId(chatId));
    if (!owner) throw new UnroutableChatError(chatId);
    return owner;
  }

  /** Whether some running channel owns `chatId`. */
  routes(chatId: string): boolean {
    return this.#channels.some((c) => c.ownsChatId(chatId));
  }

  /** Sends through the owning channel; its errors propagate (the outbox decides about retries). */
  async send(chatId: string, text: string, options?: SendOptions): Promise<void> {
    await this.ownerOf(chatId).send(chatId, text, options);
  }

  /** Typing indicators are best effort: failures are logged, never thrown. */
  async setTyping(chatId: string, active: boolean): Promise<void> {
    try {
      await this.ownerOf(chatId).setTyping(chatId, active);
    } catch (err) {
      this.#log.debug({ err, chatId }, "typing indicator failed");
    }
  }

  /**
   * One handler for every channel's inbound messages. A handler error is logged and passed on to the
   * channel, which then leaves the message unacknowledged (the platform sends it again).
   */
  onInbound(handler: (message: InboundMessage, channel: string) => Promise<void>): void {
    for (const channel of this.#channels) {
      channel.onInbound(async (message) => {
        try {
          await handler(message, channel.name);
        } catch (err) {
          this.#log.error(
            { err, channel: channel.name, chatId: message.chatId },
            "inbound message handling failed",
          );
          throw err;
        }
      });
    }
  }

  /** One handler for every channel's command answers (queued in the outbox); errors reach the channel. */
  onCommandAnswer(handler: (answer: CommandAnswer, channel: string) => Promise<void>): void {
    for (const channel of this.#channels) {
      channel.onCommandAnswer?.((answer) => handler(answer, channel.name));
    }
  }

  /** Called with the channel's name whenever one (re)connects. */
  onReady(handler: (channel: string) => void): void {
    for (const channel of this.#channels) channel.onReady(() => handler(channel.name));
  }

  /** Each channel's connection state by name, for the health endpoint. */
  states(): Record<string, ChannelState> {
    return Object.fromEntries(this.#channels.map((c) => [c.name, c.state?.() ?? "connected"]));
  }

  async startAll(): Promise<void> {
    for (const channel of this.#channels) {
      await channel.start();
      this.#log.info({ channel: channel.name }, "channel started");
    }
  }

  async stopAll(): Promise<void> {
    await Promise.allSettled(this.#channels.map((c) => c.stop()));
  }
}
