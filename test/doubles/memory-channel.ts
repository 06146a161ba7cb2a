import type { Channel, InboundHandler, InboundMessage, ReadyHandler } from "../../src/channels/channel.js";
import { ChannelNetworkError } from "../../src/errors.js";

/** A platform in memory for pipeline tests: inject messages, read what was sent, go offline. */
export class MemoryChannel implements Channel {
  readonly sent: { chatId: string; text: string }[] = [];
  readonly typing: { chatId: string; active: boolean }[] = [];
  online = true;
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
    if (!this.online) throw new ChannelNetworkError(this.name, "OFFLINE", "platform unreachable");
    this.sent.push({ chatId, text });
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
