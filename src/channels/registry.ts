import { setTimeout as delay } from "node:timers/promises";
import { type Backoff, backoffDelay } from "../backoff.js";
import { ChannelError, ChannelNetworkError, describeError, UnroutableChatError } from "../errors.js";
import type { Logger } from "../log.js";
import type { Channel, ChannelState, CommandAnswer, InboundMessage, SendOptions } from "./channel.js";

/** Where a channel's start stands: started, waiting for its next attempt, or stopped for good by a refusal. */
export interface ChannelStartState {
  name: string;
  state: "stopped" | "starting" | "started" | "retrying" | "failed";
  /** Why the last start failed (retrying, failed). */
  error?: string;
  /** When the next start attempt is due (retrying), ms since the epoch. */
  nextAttemptAt?: number;
}

/** How channels that cannot connect at start are retried. */
export interface ChannelRestartOptions {
  /** Delay before each new start attempt; default 2 s doubling to 5 min, 25% jitter. */
  backoff?: Backoff;
  /** Waits `ms` unless `signal` aborts (rejecting then); injectable for tests. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  now?: () => number;
}

const DEFAULT_RESTART: Backoff = { baseMs: 2_000, maxMs: 300_000, jitter: 0.25 };

/**
 * The channels nestbox runs, wired explicitly in `main.ts`. Routes outbound messages to the one
 * channel that owns a chat id; a chat id nobody owns is an error, never a silent drop.
 */
export class ChannelRegistry {
  readonly #channels: Channel[];
  readonly #log: Logger;
  readonly #restart: Required<ChannelRestartOptions>;
  readonly #states = new Map<string, ChannelStartState>();
  #lifecycle = new AbortController();
  readonly #retries = new Set<Promise<void>>();

  constructor(channels: Channel[], log: Logger, restart: ChannelRestartOptions = {}) {
    const names = new Set<string>();
    for (const c of channels) {
      if (names.has(c.name)) throw new Error(`channel "${c.name}" is registered twice`);
      names.add(c.name);
    }
    this.#channels = [...channels];
    this.#log = log;
    this.#restart = {
      backoff: restart.backoff ?? DEFAULT_RESTART,
      sleep: restart.sleep ?? ((ms, signal) => delay(ms, undefined, { signal })),
      now: restart.now ?? Date.now,
    };
    for (const c of channels) this.#states.set(c.name, { name: c.name, state: "stopped" });
  }

  /** Each channel's start, in wiring order: started, retrying (with the error and next attempt), failed, stopped. */
  startStates(): ChannelStartState[] {
    return this.#channels.map((c) => ({ ...(this.#states.get(c.name) as ChannelStartState) }));
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

  /** Whether the channel owning `chatId` shows a same-id resend once (false when none owns it). */
  resendsShowOnce(chatId: string): boolean {
    return this.#channels.find((c) => c.ownsChatId(chatId))?.resendsShowOnce === true;
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

  /**
   * Each channel's connection state by name, for the health endpoint; a channel whose start is being
   * retried says so, with the next attempt.
   */
  states(): Record<string, ChannelState> {
    return Object.fromEntries(
      this.#channels.map((c) => {
        const start = this.#states.get(c.name);
        if (start?.state === "retrying" && start.nextAttemptAt !== undefined) {
          const inS = Math.max(0, Math.round((start.nextAttemptAt - this.#restart.now()) / 1000));
          return [
            c.name,
            `down: ${start.error ?? "cannot connect"}; next attempt in ${inS} s` as ChannelState,
          ];
        }
        return [c.name, c.state?.() ?? "connected"];
      }),
    );
  }

  /**
   * Starts every channel. One that cannot connect (a ChannelNetworkError: the platform is unreachable)
   * is retried in the background with backoff, each attempt logged once with the next delay, so the
   * host runs without it meanwhile; any other failure (a refused token) is a configuration mistake and
   * rejects once every channel's start has settled. Channels start side by side.
   */
  async startAll(): Promise<void> {
    this.#lifecycle = new AbortController();
    // Side by side: a channel slow to connect (WhatsApp waits up to 30 s) holds up no other.
    const results = await Promise.allSettled(this.#channels.map((c) => this.#startOne(c)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
  }

  async #startOne(channel: Channel): Promise<void> {
    this.#set(channel, { state: "starting" });
    try {
      await channel.start();
    } catch (err) {
      if (!(err instanceof ChannelNetworkError) || this.#lifecycle.signal.aborted) {
        this.#set(channel, { state: "failed", error: describeError(err) });
        throw err;
      }
      this.#retryInBackground(channel, err);
      return;
    }
    this.#started(channel);
  }

  /** Stops one channel (the terminal chat once its input ended); the others run on. */
  async stopChannel(name: string): Promise<void> {
    const channel = this.#channels.find((c) => c.name === name);
    if (!channel) return;
    await channel.stop();
    this.#set(channel, { state: "stopped" });
  }

  /** Stops start attempts still waiting, then every channel. */
  async stopAll(): Promise<void> {
    this.#lifecycle.abort();
    await Promise.allSettled(this.#channels.map((c) => c.stop()));
    await Promise.allSettled([...this.#retries]);
    for (const c of this.#channels) this.#set(c, { state: "stopped" });
  }

  #retryInBackground(channel: Channel, first: ChannelNetworkError): void {
    const retry = this.#retry(channel, first, this.#lifecycle.signal).catch((err: unknown) =>
      this.#log.error({ err, channel: channel.name }, "channel restart loop failed"),
    );
    this.#retries.add(retry);
    void retry.finally(() => this.#retries.delete(retry));
  }

  async #retry(channel: Channel, first: unknown, signal: AbortSignal): Promise<void> {
    let failure = first;
    for (let attempt = 1; ; attempt++) {
      const waitMs = backoffDelay(attempt - 1, this.#restart.backoff);
      const error = describeError(failure);
      this.#set(channel, { state: "retrying", error, nextAttemptAt: this.#restart.now() + waitMs });
      this.#log.warn(
        { channel: channel.name, attempt, retryInMs: waitMs, reason: error },
        `${channel.name} could not start; retrying in ${Math.round(waitMs / 1000)} s`,
      );
      try {
        await this.#restart.sleep(waitMs, signal);
      } catch {
        return;
      }
      if (signal.aborted) return;
      try {
        await channel.start();
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof ChannelNetworkError) {
          failure = err;
          continue;
        }
        const code = err instanceof ChannelError ? err.code : undefined;
        this.#set(channel, { state: "failed", error: describeError(err) });
        this.#log.error(
          { channel: channel.name, code },
          `${channel.name} refused to start, it stays stopped: ${describeError(err)}`,
        );
        return;
      }
      this.#started(channel);
      return;
    }
  }

  #started(channel: Channel): void {
    this.#set(channel, { state: "started" });
    this.#log.info({ channel: channel.name }, "channel started");
  }

  #set(channel: Channel, state: Omit<ChannelStartState, "name">): void {
    this.#states.set(channel.name, { name: channel.name, ...state });
  }
}
