import { Writable } from "node:stream";
import { pino } from "pino";
import type { InboundMessage } from "../../src/channels/channel.js";
import {
  createTelegramAdapter,
  type TelegramAdapter,
  type TelegramAdapterConfig,
} from "../../src/channels/telegram/index.js";
import type { Logger } from "../../src/log.js";
import { TelegramBotApiDouble } from "../doubles/telegram-bot-api.js";

/** A log line as pino wrote it. */
export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** A debug-level logger whose lines the test can read. */
export function captureLog(): { log: Logger; lines: LogLine[]; text: () => string } {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split("\n"))
        if (line.trim()) lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  return {
    log: pino({ level: "debug" }, sink),
    lines,
    text: () => lines.map((l) => JSON.stringify(l)).join("\n"),
  };
}

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
