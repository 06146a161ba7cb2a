import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** A Telegram user as the Bot API shows it. */
export interface TgUser {
  id: number;
  is_bot: boolean;
  first_name: string;
  last_name?: string;
  username?: string;
}

/** A message entity (mention, bot_command...). */
export interface TgEntity {
  type: string;
  offset: number;
  length: number;
}

/** The subset of a Bot API message the double produces. */
export interface TgMessage {
  message_id: number;
  date: number;
  chat: {
    id: number;
    type: string;
    title?: string;
    first_name?: string;
    last_name?: string;
    username?: string;
  };
  from?: TgUser;
  text?: string;
  caption?: string;
  entities?: TgEntity[];
  caption_entities?: TgEntity[];
  reply_to_message?: TgMessage;
}

/** An update as getUpdates returns it. */
export interface TgUpdate {
  update_id: number;
  message?: TgMessage;
}

/** An error the double answers with instead of the method's result. */
export interface ApiFailure {
  error_code: number;
  description: string;
  retry_after?: number;
}

/** One API call the double received (dropped and refused ones included). */
export interface RecordedCall {
  method: string;
  payload: Record<string, unknown>;
  at: number;
}

/** What {@link TelegramBotApiDouble.pushMessage} needs; everything but chat and text has a default. */
export interface PushMessageInput {
  chatId: number;
  chatType?: "private" | "group" | "supergroup";
  text?: string;
  caption?: string;
  title?: string;
  from?: TgUser;
  entities?: TgEntity[];
  /** The message this one replies to (e.g. one the bot sent, from {@link TelegramBotApiDouble.sentMessages}). */
  replyTo?: TgMessage;
}

const DEFAULT_USER: TgUser = {
  id: 1001,
  is_bot: false,
  first_name: "Alice",
  last_name: "Liddell",
  username: "alice",
};
const CONFLICT =
  "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running";

interface Waiter {
  offset: number;
  limit: number;
  res: ServerResponse;
  timer: NodeJS.Timeout;
}

/**
 * A local Telegram Bot API server: `POST /bot<token>/<method>` with JSON or url-encoded bodies, answering
 * `{ok, result}` or `{ok:false, error_code, description, parameters}`. getUpdates long-polls and
 * treats `offset` as Telegram does: every update below it is confirmed and forgotten.
 */
export class TelegramBotApiDouble {
  readonly token: string;
  readonly bot: TgUser & { can_read_all_group_messages: boolean };
  /** Every call in arrival order (failed and dropped ones included). */
  readonly calls: RecordedCall[] = [];
  /** The highest offset a getUpdates call acknowledged. */
  confirmedOffset = 0;
  /** How many times each update_id was handed out by getUpdates. */
  readonly handedOut = new Map<number, number>();
  tokenValid = true;
  /** Called when a getUpdates offset confirms more updates, with the update ids it forgets. */
  onConfirm: (offset: number, confirmed: TgUpdate[]) => void = () => {};
  readonly #server: Server;
  #updates: TgUpdate[] = [];
  #nextUpdateId = 1;
  #nextMessageId = 1;
  readonly #sent: TgMessage[] = [];
  /** When each of `#sent` was stored, in ms. */
  readonly #sentAt: number[] = [];
  /** Sends to these chats wait this long before Telegram handles them (a slow or failing chat). */
  readonly #chatHolds = new Map<number, number>();
  readonly #actions: { chatId: number; action: string }[] = [];
  /** Queued failures per method; `null` lets that call through. */
  readonly #failures = new Map<string, (ApiFailure | null)[]>();
  readonly #drops = new Map<string, number>();
  #storeThenDrop = 0;
  readonly #holds = new Map<string, { ms: number; times: number }>();
  readonly #waiters = new Set<Waiter>();
  /** Requests taken in while black-holed: never answered; their connections die when it ends. */
  readonly #swallowed = new Set<IncomingMessage>();
  #blackhole = false;
  #port = 0;

  constructor(
    options: { token?: string; bot?: Partial<TgUser & { can_read_all_group_messages: boolean }> } = {},
  ) {
    this.token = options.token ?? "123456:TEST-token";
    this.bot = {
      id: 777000111,
      is_bot: true,
      first_name: "Nestbox",
      username: "nestbox_test_bot",
      can_read_all_group_messages: true,
      ...options.bot,
    };
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) this.#reply(res, 500, { ok: false, error_code: 500, description: String(err) });
      });
    });
  }

  /** Starts listening on 127.0.0.1 (on `port`, else the port of an earlier start, else a free one); returns the apiRoot. */
  async start(port?: number): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(port ?? this.#port, "127.0.0.1", resolve));
    this.#port = (this.#server.address() as AddressInfo).port;
    return this.apiRoot;
  }

  get apiRoot(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** Telegram is down: the port refuses connections (open ones are reset) until {@link comeBack}. */
  async goDown(): Promise<void> {
    for (const w of this.#waiters) {
      this.#waiters.delete(w);
      clearTimeout(w.timer);
    }
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
  }

  /** Listens again on the same port. */
  async comeBack(): Promise<void> {
    await this.start();
  }

  /**
   * Black-holed: requests are read and never answered (as when packets are dropped); when it ends,
   * their connections are destroyed, so clients see whatever their own timeouts make of it.
   */
  blackhole(on: boolean): void {
    this.#blackhole = on;
    if (on) return;
    for (const req of this.#swallowed) req.socket.destroy();
    this.#swallowed.clear();
  }

  async close(): Promise<void> {
    for (const w of this.#waiters) this.#answerWaiter(w, []);
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** Queues a raw update; a pending getUpdates returns it at once. */
  pushUpdate(update: Omit<TgUpdate, "update_id"> & { update_id?: number }): TgUpdate {
    const full = { ...update, update_id: update.update_id ?? this.#nextUpdateId } as TgUpdate;
    this.#nextUpdateId = Math.max(this.#nextUpdateId, full.update_id + 1);
    this.#updates.push(full);
    for (const w of [...this.#waiters]) {
      const ready = this.#pending(w.offset, w.limit);
      if (ready.length > 0) this.#answerWaiter(w, ready);
    }
    return full;
  }

  /** Every message Telegram stored, with the chat and the time in ms. */
  sentLog(): { chatId: number; text: string; at: number }[] {
    return this.#sent.map((m, i) => ({
      chatId: m.chat.id,
      text: m.text ?? "",
      at: this.#sentAt[i] as number,
    }));
  }

  /** Every sendMessage to `chatId` waits `ms` first (0 or less: no longer). */
  holdSendsTo(chatId: number, ms: number): void {
    if (ms > 0) this.#chatHolds.set(chatId, ms);
    else this.#chatHolds.delete(chatId);
  }

  /** Queues a user's message in a chat, as Telegram would deliver it. */
  pushMessage(input: PushMessageInput): TgUpdate {
    const from = input.from ?? DEFAULT_USER;
    const type = input.chatType ?? (input.chatId < 0 ? "supergroup" : "private");
    const { first_name, last_name, username } = from;
    const chat =
      type === "private"
        ? { id: input.chatId, type, first_name, last_name, username }
        : { id: input.chatId, type, title: input.title ?? "Test Group" };
    const message: TgMessage = {
      message_id: this.#nextMessageId++,
      date: Math.floor(Date.now() / 1000),
      chat,
      from,
      ...(input.text !== undefined ? { text: input.text } : {}),
      ...(input.caption !== undefined ? { caption: input.caption } : {}),
      ...(input.entities
        ? { [input.text !== undefined ? "entities" : "caption_entities"]: input.entities }
        : {}),
      ...(input.replyTo ? { reply_to_message: input.replyTo } : {}),
    };
    return this.pushUpdate({ message });
  }

  /** Texts the bot sent to a chat, in order. */
  sent(chatId: number): string[] {
    return this.#sent.filter((m) => m.chat.id === chatId).map((m) => m.text ?? "");
  }

  /** Messages the bot sent (all chats), as the API returned them. */
  sentMessages(chatId?: number): TgMessage[] {
    return this.#sent.filter((m) => chatId === undefined || m.chat.id === chatId);
  }

  /** Chat actions ("typing") the bot sent to a chat. */
  chatActions(chatId: number): string[] {
    return this.#actions.filter((a) => a.chatId === chatId).map((a) => a.action);
  }

  /** Calls of one method, in order. */
  callsOf(method: string): RecordedCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  /** The next `times` calls of `method` fail with this API error. */
  failNext(method: string, failure: ApiFailure, times = 1): void {
    const queue = this.#failures.get(method) ?? [];
    for (let i = 0; i < times; i++) queue.push(failure);
    this.#failures.set(method, queue);
  }

  /** The next `times` calls of `method` have their socket destroyed before anything happens. */
  dropNextConnection(method: string, times = 1): void {
    this.#drops.set(method, (this.#drops.get(method) ?? 0) + times);
  }

  /** Call number `n` (1 = the next) of `method` fails with this API error; the calls before it succeed. */
  failCall(method: string, n: number, failure: ApiFailure): void {
    const queue: (ApiFailure | null)[] = Array.from({ length: n - 1 }, () => null);
    this.#failures.set(method, [...queue, failure]);
  }

  /** The next `times` sendMessage calls are carried out (the message is stored), then the connection is reset. */
  storeThenDrop(times = 1): void {
    this.#storeThenDrop += times;
  }

  /**
   * Holds the answer of the next `times` calls of `method` for `ms` before handling them (Infinity:
   * until the connection closes), as Telegram does with a flood-limited sendMessage.
   */
  holdNext(method: string, ms: number, times = 1): void {
    const held = this.#holds.get(method);
    this.#holds.set(method, { ms, times: (held?.times ?? 0) + times });
  }

  /** Answers later calls of `method` at once again (calls already held stay held). */
  stopHolding(method: string): void {
    this.#holds.delete(method);
  }

  /** Makes the next getUpdates call answer 409 as when another instance polls the same bot. */
  conflictNext(times = 1): void {
    this.failNext("getUpdates", { error_code: 409, description: CONFLICT }, times);
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://double");
    const match = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(url.pathname);
    const payload = { ...Object.fromEntries(url.searchParams), ...(await readBody(req)) };
    if (!match) return this.#reply(res, 404, { ok: false, error_code: 404, description: "Not Found" });
    const [, token, method = ""] = match;
    if (this.#blackhole) {
      this.#swallowed.add(req);
      return;
    }
    this.calls.push({ method, payload, at: Date.now() });
    const drops = this.#drops.get(method) ?? 0;
    if (drops > 0) {
      this.#drops.set(method, drops - 1);
      req.socket.destroy();
      return;
    }
    const chatHold = method === "sendMessage" ? this.#chatHolds.get(Number(payload.chat_id)) : undefined;
    if (chatHold && !(await waitUnlessClosed(res, chatHold))) return;
    const hold = this.#holds.get(method);
    if (hold && hold.times > 0) {
      hold.times--;
      if (!(await waitUnlessClosed(res, hold.ms))) return;
    }
    if (token !== this.token || !this.tokenValid) {
      return this.#reply(res, 401, { ok: false, error_code: 401, description: "Unauthorized" });
    }
    const failure = this.#failures.get(method)?.shift();
    if (failure) {
      const { retry_after, ...rest } = failure;
      const body = {
        ok: false,
        ...rest,
        ...(retry_after !== undefined ? { parameters: { retry_after } } : {}),
      };
      return this.#reply(res, failure.error_code, body);
    }
    switch (method) {
      case "getMe":
        return this.#ok(res, this.bot);
      case "getUpdates":
        return this.#getUpdates(payload, res);
      case "sendMessage": {
        const message = this.#recordSent(payload);
        if (this.#storeThenDrop > 0) {
          this.#storeThenDrop--;
          req.socket.destroy();
          return;
        }
        return this.#ok(res, message);
      }
      case "sendChatAction":
        this.#actions.push({ chatId: Number(payload.chat_id), action: String(payload.action) });
        return this.#ok(res, true);
      case "deleteWebhook":
      case "setMyCommands":
        return this.#ok(res, true);
      default:
        return this.#reply(res, 404, { ok: false, error_code: 404, description: "Not Found" });
    }
  }

  #getUpdates(payload: Record<string, unknown>, res: ServerResponse): void {
    const offset = Number(payload.offset ?? 0);
    if (offset > this.confirmedOffset) {
      this.confirmedOffset = offset;
      const confirmed = this.#updates.filter((u) => u.update_id < offset);
      this.#updates = this.#updates.filter((u) => u.update_id >= offset);
      this.onConfirm(offset, confirmed);
    }
    // Like Telegram, a newer getUpdates terminates one still pending.
    for (const w of [...this.#waiters]) {
      this.#waiters.delete(w);
      clearTimeout(w.timer);
      this.#reply(w.res, 409, { ok: false, error_code: 409, description: CONFLICT });
    }
    const limit = Number(payload.limit ?? 100);
    const ready = this.#pending(offset, limit);
    const timeout = Number(payload.timeout ?? 0);
    if (ready.length > 0 || timeout <= 0) {
      this.#answerGetUpdates(res, ready);
      return;
    }
    const waiter: Waiter = {
      offset,
      limit,
      res,
      timer: setTimeout(() => this.#answerWaiter(waiter, []), timeout * 1000),
    };
    this.#waiters.add(waiter);
    res.on("close", () => {
      clearTimeout(waiter.timer);
      this.#waiters.delete(waiter);
    });
  }

  #pending(offset: number, limit: number): TgUpdate[] {
    const from = Math.max(offset, this.confirmedOffset);
    return this.#updates.filter((u) => u.update_id >= from).slice(0, limit);
  }

  #answerWaiter(w: Waiter, updates: TgUpdate[]): void {
    this.#waiters.delete(w);
    clearTimeout(w.timer);
    this.#answerGetUpdates(w.res, updates);
  }

  #answerGetUpdates(res: ServerResponse, updates: TgUpdate[]): void {
    if (res.destroyed) return;
    for (const u of updates) this.handedOut.set(u.update_id, (this.handedOut.get(u.update_id) ?? 0) + 1);
    this.#ok(res, updates);
  }

  #recordSent(payload: Record<string, unknown>): TgMessage {
    const chatId = Number(payload.chat_id);
    const message: TgMessage = {
      message_id: this.#nextMessageId++,
      date: Math.floor(Date.now() / 1000),
      chat:
        chatId < 0
          ? { id: chatId, type: "supergroup", title: "Test Group" }
          : { id: chatId, type: "private" },
      from: { id: this.bot.id, is_bot: true, first_name: this.bot.first_name, username: this.bot.username },
      text: String(payload.text ?? ""),
    };
    this.#sent.push(message);
    this.#sentAt.push(Date.now());
    return message;
  }

  #ok(res: ServerResponse, result: unknown): void {
    this.#reply(res, 200, { ok: true, result });
  }

  #reply(res: ServerResponse, status: number, body: unknown): void {
    if (res.destroyed || res.headersSent) return;
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  }
}

/** Waits `ms` (Infinity: forever); false when the client went away meanwhile. */
function waitUnlessClosed(res: ServerResponse, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = Number.isFinite(ms) ? setTimeout(() => resolve(!res.destroyed), ms) : undefined;
    res.on("close", () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  if (text === "") return {};
  const type = req.headers["content-type"] ?? "";
  if (type.includes("application/json")) return JSON.parse(text) as Record<string, unknown>;
  if (type.includes("application/x-www-form-urlencoded"))
    return Object.fromEntries(new URLSearchParams(text));
  return {};
}
