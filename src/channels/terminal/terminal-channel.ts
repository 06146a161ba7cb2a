import { createInterface, type Interface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import { type Channel, chatIdPatterns, type InboundHandler, type ReadyHandler } from "../channel.js";

/** Configuration of the terminal channel. */
export interface TerminalAdapterConfig {
  input: Readable;
  output: Writable;
  assistantName: string;
  /** The chat id this console is; `local:console` by default. */
  chatId?: string;
  /** Sender shown in the catch-up prompt. */
  userName?: string;
  /** Show a `> ` prompt (an interactive terminal). */
  interactive?: boolean;
  now?: () => number;
}

/**
 * A local console chat: each input line is one message; replies are printed as
 * `<assistant>: <text>`. Works with a TTY or a pipe; end of input is reported through `onInputEnd`.
 */
export class TerminalAdapter implements Channel {
  readonly name = "terminal";
  readonly chatId: string;
  readonly #c: TerminalAdapterConfig;
  #inbound: InboundHandler = async () => {};
  #ready: ReadyHandler = () => {};
  #inputEnd: () => void = () => {};
  #rl: Interface | null = null;
  #lines = 0;
  #runId = "";
  #chain: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(config: TerminalAdapterConfig) {
    this.#c = config;
    this.chatId = config.chatId ?? "local:console";
  }

  ownsChatId(chatId: string): boolean {
    return chatIdPatterns.terminal.test(chatId);
  }

  onInbound(handler: InboundHandler): void {
    this.#inbound = handler;
  }

  onReady(handler: ReadyHandler): void {
    this.#ready = handler;
  }

  /** Called once when the input ends (Ctrl-D or the pipe closing), after every line was handed on. */
  onInputEnd(handler: () => void): void {
    this.#inputEnd = handler;
  }

  async start(): Promise<void> {
    const now = this.#c.now ?? Date.now;
    this.#runId = now().toString(36);
    this.#stopped = false;
    const rl = createInterface({ input: this.#c.input, terminal: false });
    this.#rl = rl;
    rl.on("line", (line) => {
      if (this.#stopped || line.trim() === "") return;
      const n = ++this.#lines;
      const message = {
        chatId: this.chatId,
        messageId: `${this.#runId}-${n}`,
        senderId: "local-user",
        senderName: this.#c.userName ?? "You",
        text: line,
        timestamp: now(),
        fromMe: false,
        mentionsAssistant: false,
        chatName: "Terminal",
      };
      // Lines are handed on strictly in order; a failing handler never stops the next line.
      this.#chain = this.#chain.then(() => this.#inbound(message)).catch(() => {});
    });
    rl.on("close", () => {
      void this.#chain.then(() => {
        if (!this.#stopped) this.#inputEnd();
      });
    });
    if (this.#c.interactive) this.#prompt();
    this.#ready();
  }

  async send(chatId: string, text: string): Promise<void> {
    if (!this.ownsChatId(chatId)) throw new Error(`terminal channel cannot send to ${chatId}`);
    const out = this.#c.interactive
      ? `\r${this.#c.assistantName}: ${text}\n`
      : `${this.#c.assistantName}: ${text}\n`;
    await new Promise<void>((resolve, reject) =>
      this.#c.output.write(out, (err) => (err ? reject(err) : resolve())),
    );
    if (this.#c.interactive) this.#prompt();
  }

  async setTyping(_chatId: string, _active: boolean): Promise<void> {}

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#rl?.close();
    this.#rl = null;
  }

  #prompt(): void {
    this.#c.output.write("> ");
  }
}
