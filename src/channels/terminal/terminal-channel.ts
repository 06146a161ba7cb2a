import { createInterface, type Interface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import {
  type Channel,
  chatIdPatterns,
  type InboundHandler,
  type InboundMessage,
  type ReadyHandler,
} from "../channel.js";
import { PromptScreen } from "./prompt-screen.js";

const BRACKETED_PASTE_ON = "\x1b[?2004h";
const BRACKETED_PASTE_OFF = "\x1b[?2004l";
/** Longest wait for the end of a bracketed paste before its lines are sent anyway. */
const PASTE_END_WAIT_MS = 2000;

/** Configuration of the terminal channel. */
export interface TerminalAdapterConfig {
  input: Readable;
  output: Writable;
  assistantName: string;
  /** The chat id this console is; `local:console` by default. */
  chatId?: string;
  /** Sender shown in the catch-up prompt. */
  userName?: string;
  /**
   * A person at a terminal: line editing with a `> ` prompt that survives replies, a thinking line,
   * pasted lines as one message. Off for pipes: each line is one message, replies are plain lines.
   */
  interactive?: boolean;
  /** Lines entered within this many ms of each other are one pasted message (interactive only); 30 by default. */
  pasteWindowMs?: number;
  /** After a reply while the turn goes on, the thinking line returns after this many ms; 300 by default. */
  thinkingAgainMs?: number;
  /** Ctrl-C at the prompt (the terminal is in raw mode, so no SIGINT arrives); ends the input by default. */
  onInterrupt?: () => void;
  now?: () => number;
}

/**
 * A local console chat: each input line (or pasted block) is one message; replies are printed as
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
  #screen: PromptScreen | null = null;
  #lines = 0;
  #runId = "";
  #chain: Promise<void> = Promise.resolve();
  #stopped = false;
  #typing = false;
  #burst: string[] = [];
  #burstTimer: NodeJS.Timeout | undefined;
  #rethink: NodeJS.Timeout | undefined;
  #pasting = false;

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
    const interactive = this.#c.interactive === true;
    const rl = interactive
      ? createInterface({ input: this.#c.input, output: this.#c.output, terminal: true, prompt: "> " })
      : createInterface({ input: this.#c.input, terminal: false });
    this.#rl = rl;
    if (interactive) {
      this.#screen = new PromptScreen(rl, this.#c.output);
      rl.on("SIGINT", () => (this.#c.onInterrupt ?? (() => rl.close()))());
      // Bracketed paste: the terminal marks a paste, so its lines stay one message however they arrive.
      this.#c.output.write(BRACKETED_PASTE_ON);
      this.#c.input.on("keypress", this.#onKey);
    }
    rl.on("line", (line) => {
      if (this.#stopped) return;
      if (interactive) this.#collect(line);
      else this.#hand(line);
    });
    rl.on("close", () => {
      this.#pasting = false;
      this.#flush(false);
      if (interactive) {
        this.#c.input.off("keypress", this.#onKey);
        this.#c.output.write(BRACKETED_PASTE_OFF);
      }
      // Nothing is drawn on a closed prompt; what is still printed goes straight to the output.
      this.#screen = null;
      void this.#chain.then(() => {
        if (!this.#stopped) this.#inputEnd();
      });
    });
    this.#screen?.prompt();
    this.#ready();
  }

  async send(chatId: string, text: string): Promise<void> {
    if (!this.ownsChatId(chatId)) throw new Error(`terminal channel cannot send to ${chatId}`);
    const line = `${this.#c.assistantName}: ${text}`;
    if (this.#screen) {
      this.#screen.print(line);
      // A reply mid-turn (the turn goes on): the thinking line comes back below it, unless the turn
      // ends right after (its final reply), which would only make the line flicker.
      clearTimeout(this.#rethink);
      if (this.#typing) {
        this.#rethink = setTimeout(() => {
          if (this.#typing) this.#screen?.showThinking(this.#thinkingText());
        }, this.#c.thinkingAgainMs ?? 300);
      }
      return;
    }
    await new Promise<void>((resolve, reject) =>
      this.#c.output.write(`${line}\n`, (err) => (err ? reject(err) : resolve())),
    );
  }

  /** A person types here (line editing, the prompt survives what is printed). */
  get interactive(): boolean {
    return this.#c.interactive === true;
  }

  /**
   * Prints a line that is not a reply (the banner, a log line) above the prompt, keeping what the
   * person has typed; once the channel is stopped, straight to the output.
   */
  notice(text: string): void {
    const line = text.endsWith("\n") ? text.slice(0, -1) : text;
    if (this.#screen) this.#screen.print(line);
    else this.#c.output.write(`${line}\n`);
  }

  async setTyping(chatId: string, active: boolean): Promise<void> {
    if (!this.ownsChatId(chatId) || !this.#screen) return;
    this.#typing = active;
    clearTimeout(this.#rethink);
    if (active) this.#screen.showThinking(this.#thinkingText());
    else this.#screen.hideThinking();
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearTimeout(this.#burstTimer);
    clearTimeout(this.#rethink);
    this.#rl?.close();
    this.#rl = null;
    this.#screen = null;
  }

  #thinkingText(): string {
    return `${this.#c.assistantName} is thinking...`;
  }

  readonly #onKey = (_text: string | undefined, key: { name?: string } | undefined): void => {
    if (key?.name === "paste-start") this.#pasting = true;
    else if (key?.name === "paste-end") {
      this.#pasting = false;
      // Readline has handled the pasted keys before this listener: the last line is on the prompt.
      setImmediate(() => this.#flush(true));
    }
  };

  /** Interactive lines wait a moment: lines that follow within the paste window belong to one message. */
  #collect(line: string): void {
    this.#screen?.lineEntered();
    this.#burst.push(line);
    clearTimeout(this.#burstTimer);
    // Inside a bracketed paste the end marker flushes; the long timer only guards a lost marker.
    const wait = this.#pasting ? PASTE_END_WAIT_MS : (this.#c.pasteWindowMs ?? 30);
    this.#burstTimer = setTimeout(() => this.#flush(true), wait);
  }

  /**
   * Hands on the collected lines as one message. Text still on the prompt line right after a burst is
   * the last line of a paste without a final newline: it is entered too (`open`: the prompt is live).
   */
  #flush(open: boolean): void {
    clearTimeout(this.#burstTimer);
    if (this.#burst.length === 0) return;
    if (open && this.#rl && this.#rl.line !== "") {
      this.#rl.write("\r");
      return;
    }
    const text = this.#burst.join("\n");
    this.#burst = [];
    this.#hand(text);
    if (open) this.#screen?.prompt();
  }

  #hand(text: string): void {
    if (text.trim() === "") return;
    const n = ++this.#lines;
    const message: InboundMessage = {
      chatId: this.chatId,
      messageId: `${this.#runId}-${n}`,
      senderId: "local-user",
      senderName: this.#c.userName ?? "You",
      text,
      timestamp: (this.#c.now ?? Date.now)(),
      fromMe: false,
      mentionsAssistant: false,
      chatName: "Terminal",
    };
    // Messages are handed on strictly in order; a failing handler never stops the next one.
    this.#chain = this.#chain.then(() => this.#inbound(message)).catch(() => {});
  }
}
