/** A message a channel received from its platform, normalised for the inbox. */
export interface InboundMessage {
  /** Channel-qualified chat id: `tg:<id>`, a WhatsApp JID, `local:<name>`. */
  chatId: string;
  /** The platform's message id, unique within the chat; makes storing idempotent. */
  messageId: string;
  senderId: string;
  senderName: string;
  text: string;
  /** When the platform says it was sent, in ms since the epoch. */
  timestamp: number;
  /** Sent by the account nestbox itself runs as (a WhatsApp self-chat, say). */
  fromMe: boolean;
  /** A native mention of the bot, or a reply to one of its messages: triggers like the trigger word. */
  mentionsAssistant: boolean;
  /** Display name of the chat when the platform gives one (group subject, user name). */
  chatName?: string;
  isGroup?: boolean;
}

/**
 * Called for every inbound message. Resolves once the message is stored (or was stored before: storing
 * is idempotent), so the channel may then acknowledge it to the platform. A rejection with NotStoredError
 * means it was not stored and must not be acknowledged; any other rejection came after storing and is
 * only logged. Never slow: replies and command answers go through the outbox.
 */
export type InboundHandler = (message: InboundMessage) => Promise<void>;

/** Per-send options from the outbox. */
export interface SendOptions {
  /** Stable for every attempt at one outbox row: a platform that deduplicates by id uses it. */
  idempotencyKey?: string;
  /** Chunks (see splitMessage) an earlier attempt already delivered: they are skipped. */
  skipChunks?: number;
  /** Called after each chunk the platform confirmed, with the count delivered so far. */
  onChunkSent?: (sentChunks: number) => void;
}

/** A reply a channel owes a chat for a command it handles itself (Telegram's `/chatid`). */
export interface CommandAnswer {
  /** Channel-qualified chat id the answer goes to. */
  chatId: string;
  text: string;
}

/**
 * Takes a command answer; resolves once it is queued in the outbox (delivery happens later, retried),
 * rejects with NotStoredError when it could not be queued, so the channel leaves the command unacknowledged.
 */
export type CommandAnswerHandler = (answer: CommandAnswer) => Promise<void>;

/** A channel's connection as the health endpoint and `status` report it. */
export type ChannelState = "connecting" | "connected" | `down: ${string}`;

/** Called when a channel's connection comes (back) up, so waiting outbound messages can go out. */
export type ReadyHandler = () => void;

/**
 * One messaging platform. Each implementation lives in its own folder under `channels/` and
 * passes the shared `channelContract` suite.
 */
export interface Channel {
  /** Short stable name: `terminal`, `telegram`, `whatsapp`. */
  readonly name: string;
  /** Whether a chat id belongs to this channel; outbound routing relies on exactly one owner. */
  ownsChatId(chatId: string): boolean;
  /**
   * Whether the platform shows a resend carrying the same idempotency key once (WhatsApp keys a
   * message by its id): an ambiguous send may then be resent more than once without a visible copy.
   */
  readonly resendsShowOnce?: boolean;
  /** Subscribes to inbound messages (one handler; a later call replaces it). */
  onInbound(handler: InboundHandler): void;
  /** Subscribes to answers of commands the channel handles itself; channels without commands omit it. */
  onCommandAnswer?(handler: CommandAnswerHandler): void;
  /** Subscribes to "connected again" notices. */
  onReady(handler: ReadyHandler): void;
  /** Connects and begins receiving. Resolves once the channel can send. */
  start(): Promise<void>;
  /**
   * Sends text to a chat, splitting it as the platform requires. Rejects with a ChannelNetworkError
   * when the platform did not take it (retried freely), a ChannelMaybeSentError when it may have (resent
   * at most once), another ChannelError when it refuses. Never retries a maybe-sent call itself.
   */
  send(chatId: string, text: string, options?: SendOptions): Promise<void>;
  /** Shows or clears a "typing" state while a turn runs; failures are swallowed by the caller. */
  setTyping(chatId: string, active: boolean): Promise<void>;
  /** Stops receiving and disconnects; idempotent. */
  stop(): Promise<void>;
  /** Where its connection is now, for the health endpoint; a channel without it counts as connected. */
  state?(): ChannelState;
}

/** Channel prefix rules for chat ids. */
export const chatIdPatterns = {
  telegram: /^tg:-?\d{1,20}$/,
  whatsapp: /^(\d{5,20}@s\.whatsapp\.net|[\d-]{5,40}@g\.us|\d{5,25}@lid)$/,
  terminal: /^local:[a-z0-9][a-z0-9_-]{0,63}$/,
} as const;

/**
 * Splits text into chunks of at most `limit` characters, preferring paragraph, then line, then
 * word boundaries; never loses a character other than the whitespace it splits on.
 */
export function splitMessage(text: string, limit: number): string[] {
  const chunks: string[] = [];
  let rest = text;
  while (rest.length > limit) {
    const window = rest.slice(0, limit + 1);
    let cut = window.lastIndexOf("\n\n");
    if (cut <= 0) cut = window.lastIndexOf("\n");
    if (cut <= 0) cut = window.lastIndexOf(" ");
    if (cut <= 0) cut = limit;
    chunks.push(rest.slice(0, cut).trimEnd());
    rest = rest.slice(cut).replace(/^\s+/, "");
  }
  if (rest.length > 0 || chunks.length === 0) chunks.push(rest);
  return chunks.filter((c, i) => c.length > 0 || i === 0);
}
