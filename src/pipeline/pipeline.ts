import type { AgentRuntime } from "../agents/agent-runtime.js";
import type { InboundMessage } from "../channels/channel.js";
import type { ChannelRegistry } from "../channels/registry.js";
import { NotStoredError } from "../errors.js";
import type { Logger } from "../log.js";
import { parseHostToolArgs, type ToolCallFrame } from "../protocol/index.js";
import type { RegisteredChat } from "../registration/chat.js";
import type { Store } from "../store/index.js";
import { DeliveryWorker } from "./delivery.js";
import { OutageRetry } from "./outage-retry.js";
import type { PromptLimits } from "./prompt.js";
import { ConversationQueue } from "./queue.js";
import { runQueuedTasks, type TaskTurnDeps } from "./task-turn.js";
import { decide } from "./trigger.js";
import { runChatTurn, type TurnDiskGuard } from "./turn.js";

/** Everything the message pipeline is built from; wired by the composition root (`src/nestbox.ts`). */
export interface PipelineOptions {
  store: Store;
  registry: ChannelRegistry;
  runtime: AgentRuntime;
  log: Logger;
  maxConcurrentAgents: number;
  limits: PromptLimits;
  /** Refuses turns when a chat's folder or the store's disk is full. */
  disk?: TurnDiskGuard;
  now?: () => number;
  delivery?: { retryDelayMs?: number; maxRetryDelayMs?: number; maxAttempts?: number };
  /** When chats left waiting by a model outage run again (default: after 1 min, doubling to 15 min). */
  outageRetry?: { firstDelayMs?: number; maxDelayMs?: number };
  /** Scheduled runs: failures in a row before a task is paused (default 3). */
  tasks?: { maxFailures: number };
  /** Host tools beyond send_message (tasks, chat administration); null for a name it does not handle. */
  hostTools?: (chat: RegisteredChat, call: ToolCallFrame) => Promise<string> | null;
}

/**
 * The message pipeline: channel -> inbox (SQLite) -> router -> conversation queue -> agent runtime
 * -> outbox (SQLite) -> delivery. Startup recovery resends undelivered replies and re-runs turns
 * whose trigger was stored but never answered.
 */
export class Pipeline {
  readonly queue: ConversationQueue;
  readonly delivery: DeliveryWorker;
  readonly outages: OutageRetry;
  readonly #o: PipelineOptions;
  readonly #now: () => number;
  readonly #shutdown = new AbortController();

  constructor(options: PipelineOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.delivery = new DeliveryWorker({
      store: options.store,
      registry: options.registry,
      log: options.log,
      now: this.#now,
      ...options.delivery,
    });
    this.outages = new OutageRetry({
      enqueue: (chatId) => this.queue.enqueue(chatId),
      firstDelayMs: options.outageRetry?.firstDelayMs ?? 60_000,
      maxDelayMs: options.outageRetry?.maxDelayMs ?? 15 * 60_000,
    });
    const deps: TaskTurnDeps = {
      store: options.store,
      runtime: options.runtime,
      log: options.log,
      limits: options.limits,
      now: this.#now,
      onReply: () => this.delivery.kick(),
      setTyping: (id, active) => options.registry.setTyping(id, active),
      shutdownSignal: this.#shutdown.signal,
      disk: options.disk,
      hostTools: (chat) => (call) => this.#hostTool(chat, call),
      onModelAnswered: () => this.outages.answered(),
      onModelOutage: (chatId) => this.outages.outage(chatId),
      timezone: options.limits.timezone,
      maxFailures: options.tasks?.maxFailures ?? 3,
    };
    // A chat's scheduled runs and its message turn share the chat's lane: they never overlap.
    this.queue = new ConversationQueue({
      maxConcurrent: options.maxConcurrentAgents,
      run: async (chatId) => {
        await runQueuedTasks(chatId, options.store, deps);
        await runChatTurn(chatId, deps);
      },
      onError: (chatId, err) => options.log.error({ err, chatId }, "turn crashed"),
    });
    options.registry.onInbound((message, channel) => this.receive(message, channel));
    // Command answers (/chatid) take the replies' road: stored in the outbox, delivered and retried there.
    options.registry.onCommandAnswer(async (answer) => {
      try {
        this.post(answer.chatId, answer.text);
      } catch (err) {
        throw new NotStoredError(`the command answer to ${answer.chatId}`, { cause: err });
      }
    });
    options.registry.onReady(() => this.delivery.kick());
  }

  /** Queues a message to a chat: the outbox row, then delivery (in order, retried, never lost). */
  post(chatId: string, text: string): void {
    this.#o.store.outbox.add(chatId, null, text, this.#now());
    this.delivery.kick();
  }

  /**
   * The host tools' policy: `send_message` to the agent's own chat; only the main chat may name
   * another chat, and only a registered one. The other tools (tasks, chats) have their own.
   */
  async #hostTool(chat: RegisteredChat, call: ToolCallFrame): Promise<string> {
    if (call.name !== "send_message") {
      const handled = this.#o.hostTools?.(chat, call);
      if (!handled) throw new Error(`unknown host tool ${call.name}`);
      return handled;
    }
    const parsed = parseHostToolArgs("send_message", call.args);
    if (!parsed.ok) throw new Error(parsed.error);
    const args = parsed.args;
    const target = args.chatId ?? chat.chatId;
    if (target !== chat.chatId) {
      if (!chat.isMain) throw new Error("only the main chat may send to other chats");
      if (!this.#o.store.chats.get(target)) throw new Error(`${target} is not a registered chat`);
    }
    this.post(target, args.text);
    return `sent to ${target}`;
  }

  /**
   * Stores an inbound message (once, synchronously), then dispatches it if it triggers the assistant.
   * Resolves once it is stored, so a channel may acknowledge it; rejects with NotStoredError when not.
   */
  async receive(message: InboundMessage, channel: string): Promise<void> {
    const { store, log } = this.#o;
    const chat = store.chats.get(message.chatId);
    const decision = decide(chat, message);
    let stored: ReturnType<Store["messages"]["insert"]>;
    try {
      stored = store.messages.insert(channel, message, decision.triggers, this.#now());
    } catch (err) {
      throw new NotStoredError(`message ${message.messageId} of ${message.chatId}`, { cause: err });
    }
    if (!stored) {
      log.debug({ chatId: message.chatId, messageId: message.messageId }, "duplicate message ignored");
      return;
    }
    if (chat && message.chatName && message.chatName !== chat.name)
      store.chats.rename(chat.chatId, message.chatName);
    log.debug({ chatId: message.chatId, seq: stored.seq, decision: decision.reason }, "message stored");
    if (decision.triggers) this.queue.enqueue(message.chatId);
    else if (chat) this.#o.runtime.prewarm?.(chat);
  }

  /** Starts the channels, then recovers: resend undelivered replies, re-run unanswered triggers. */
  async start(): Promise<void> {
    await this.#o.registry.startAll();
    this.recover();
  }

  /** Startup recovery; safe to call more than once. */
  recover(): void {
    const { store, log } = this.#o;
    const interrupted = store.turns.interruptRunning(this.#now());
    const taskRuns = store.taskRuns.recoverRunning(this.#now()).length;
    for (const chatId of store.taskRuns.chatsWithQueued()) this.queue.enqueue(chatId);
    let rerun = 0;
    for (const [chatId, seq] of store.messages.lastTriggerSeqByChat()) {
      if (store.chats.get(chatId) && seq > store.turns.cursor(chatId)) {
        this.queue.enqueue(chatId);
        rerun++;
      }
    }
    const undelivered = store.outbox.pending().length;
    if (interrupted || rerun || undelivered || taskRuns) {
      log.info({ interrupted, rerun, undelivered, taskRuns }, "recovering work left by the previous run");
    }
    this.delivery.kick();
  }

  /** Waits until no turn runs or waits and every deliverable reply went out. */
  async drain(): Promise<void> {
    for (;;) {
      await this.queue.idle();
      this.delivery.kick();
      await this.delivery.idle();
      if (this.queue.active === 0 && this.queue.pending === 0) return;
    }
  }

  /**
   * Stops taking work, gives running turns `graceMs` to finish, aborts the rest (left for
   * recovery), then stops channels and the runtime.
   */
  async stop(graceMs = 0): Promise<void> {
    this.queue.close();
    this.outages.stop();
    if (graceMs > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.queue.idle(), new Promise((r) => (timer = setTimeout(r, graceMs)))]);
      clearTimeout(timer);
    }
    this.#shutdown.abort();
    await this.queue.idle();
    await this.delivery.idle();
    this.delivery.stop();
    await this.#o.registry.stopAll();
    await this.#o.runtime.shutdown();
  }
}
