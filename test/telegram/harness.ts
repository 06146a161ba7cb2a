import type { InboundMessage } from "../../src/channels/channel.js";
import {
  createTelegramAdapter,
  type TelegramAdapter,
  type TelegramAdapterConfig,
} from "../../src/channels/telegram/index.js";
import { captureLog } from "../doubles/capture-log.js";
import { TelegramBotApiDouble } from "../doubles/telegram-bot-api.js";

export { captureLog, type LogLine } from "../doubles/capture-log.js";

export { waitFor } from "../wait.js";

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A started Bot API double plus adapters pointed at it; `close()` stops them all. */
export class TelegramFixture {
  readonly api: TelegramBotApiDouble;
  readonly logs = captureLog();
  readonly #adapters: TelegramAdapter[] = [];

  private constructor(api: TelegramBotApiDouble) {
    this.api = api;
  }

  static async create(
    options?: ConstructorParameters<typeof TelegramBotApiDouble>[0],
  ): Promise<TelegramFixture> {
    const api = new TelegramBotApiDouble(options);
    await api.start();
    return new TelegramFixture(api);
  }

  /** An adapter on this double with fast retries; not started. */
  adapter(overrides: Partial<TelegramAdapterConfig> = {}): TelegramAdapter {
    const adapter = createTelegramAdapter({
      botToken: this.api.token,
      apiRoot: this.api.apiRoot,
      assistantName: "Andy",
      log: this.logs.log,
      retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 50 },
      pollTimeoutSeconds: 2,
      ...overrides,
    });
    this.#adapters.push(adapter);
    return adapter;
  }

  /** An adapter that records what it receives, started. */
  async started(overrides: Partial<TelegramAdapterConfig> = {}): Promise<{
    adapter: TelegramAdapter;
    received: InboundMessage[];
  }> {
    const adapter = this.adapter(overrides);
    const received: InboundMessage[] = [];
    adapter.onInbound(async (m) => {
      received.push(m);
    });
    await adapter.start();
    return { adapter, received };
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.#adapters.map((a) => a.stop()));
    await this.api.close();
  }
}
