import type { Channel, InboundHandler, InboundMessage, ReadyHandler } from "../../src/channels/channel.js";
import { ChannelMaybeSentError, ChannelNetworkError } from "../../src/errors.js";

/** A platform in memory for pipeline tests: inject messages, read what was sent, go offline. */
export class MemoryChannel implements Channel {
  readonly sent: { chatId: string; text: string }[] = [];
  /** Every send call, as it starts (before any hang or failure). */
  readonly attempted: { chatId: string; text: string }[] = [];
  readonly typing: { chatId: string; active: boolean }[] = [];
  online = true;
  /** The next this-many sends are delivered, then fail as maybe-sent (the answer was lost). */
  deliverThenLoseAnswer = 0;
  /** Sends to these chats wait until the test releases them (see `hang`). */
  readonly #gates = new Map<string, Promise<void>>();
  #inbound: InboundHandler = async () => {};
  #ready: ReadyHandler = () => {};
  #n = 0;

  constructor(
    readonly name = "memory",
    readonly prefix = "mem:",
  ) {}

  ownsChatId(chatId: string): boolean {
    return chatId.startsWith(this.prefix);
  }
  onInbound(handler: InboundHandler): void {
    this.#inbound = handler;
  }
  onReady(handler: ReadyHandler): void {
    this.#ready = handler;
  }
  async start(): Promise<void> {
    this.#ready();
  }
  async stop(): Promise<void> {}
  async setTyping(chatId: string, active: boolean): Promise<void> {
    this.typing.push({ chatId, active });
  }
  async send(chatId: string, text: string): Promise<void> {
    this.attempted.push({ chatId, text });
    await this.#gates.get(chatId);
    if (!this.online) throw new ChannelNetworkError(this.name, "OFFLINE", "platform unreachable");
    this.sent.push({ chatId, text });
    if (this.deliverThenLoseAnswer > 0) {
      this.deliverThenLoseAnswer--;
      throw new ChannelMaybeSentError(this.name, "ANSWER_LOST", "connection reset after the request");
    }
  }

  /** Sends to `chatId` hang from now on until the returned function is called. */
  hang(chatId: string): () => void {
    let release = () => {};
    this.#gates.set(
      chatId,
      new Promise<void>((r) => {
        release = () => {
          this.#gates.delete(chatId);
          r();
        };
      }),
    );
    return release;
  }

  /** Delivers a message as if the platform pushed it. */
  async receive(chatId: string, text: string, over: Partial<InboundMessage> = {}): Promise<void> {
    this.#n++;
    await this.#inbound({
      chatId,
      messageId: over.messageId ?? `m${this.#n}`,
      senderId: "u1",
      senderName: "Alice",
      text,
      timestamp: Date.UTC(2026, 10, 25, 10, this.#n),
      fromMe: false,
      mentionsAssistant: false,
      ...over,
    });
  }

  /** Comes back online and tells the host. */
  reconnect(): void {
    this.online = true;
    this.#ready();
  }
}
