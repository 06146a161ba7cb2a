import type { AgentRuntime, TurnRequest } from "../agents/agent-runtime.js";
import { AgentError, describeError } from "../errors.js";
import type { Logger } from "../log.js";
import type { RegisteredChat } from "../registration/chat.js";
import type { Store } from "../store/index.js";
import { formatCatchUp, type PromptLimits } from "./prompt.js";

/** What a turn needs from the rest of the host. */
export interface TurnDeps {
  store: Store;
  runtime: AgentRuntime;
  log: Logger;
  limits: PromptLimits;
  now: () => number;
  /** A reply was written to the outbox. */
  onReply: (chatId: string) => void;
  setTyping: (chatId: string, active: boolean) => Promise<void>;
  /** Aborted on shutdown: the turn stops and is left for recovery, with no error reply. */
  shutdownSignal: AbortSignal;
  /** Refuses turns (and stops running ones) when a chat's folder or the store's disk is full. */
  disk?: TurnDiskGuard;
  /** The host tools a chat's agent may call during its turn. */
  hostTools: (chat: RegisteredChat) => TurnRequest["onToolCall"];
}

/** The part of the disk guard a turn uses. */
export interface TurnDiskGuard {
  refusal(chat: RegisteredChat): { code: string; message: string } | null;
  watch(chat: RegisteredChat, onBreach: (refusal: { code: string; message: string }) => void): () => void;
}

/** The short reply a chat gets when its turn fails. */
export function failureReply(err: unknown): string {
  return `Sorry, I couldn't answer that: ${describeError(err)}`;
}

/**
 * Runs one turn for a chat: every message since its cursor becomes the catch-up prompt; each reply
 * goes to the outbox in the transaction that advances the cursor. Returns without a turn when no
 * stored message since the cursor triggers the assistant.
 */
export async function runChatTurn(chatId: string, deps: TurnDeps): Promise<void> {
  const { store, log, now } = deps;
  const chat = store.chats.get(chatId);
  if (!chat) return;
  const cursor = store.turns.cursor(chatId);
  const messages = store.messages.since(chatId, cursor);
  if (!messages.some((m) => m.triggers)) return;
  const toSeq = (messages[messages.length - 1] as { seq: number }).seq;
  const turnId = store.turns.start(chatId, cursor + 1, toSeq, now());
  const prompt = formatCatchUp(messages, deps.limits);
  log.info({ chatId, turnId, messages: messages.length }, "turn started");
  void deps.setTyping(chatId, true);
  const stopped = new AbortController();
  let breach: AgentError | null = null;
  const unwatch = deps.disk?.watch(chat, (r) => {
    breach = new AgentError(r.code, r.message);
    stopped.abort();
  });
  try {
    const refusal = deps.disk?.refusal(chat);
    if (refusal) throw new AgentError(refusal.code, refusal.message);
    const signal = AbortSignal.any([deps.shutdownSignal, stopped.signal]);
    const usage = await streamTurn(chat, prompt, turnId, toSeq, { ...deps, shutdownSignal: signal });
    store.transaction(() => {
      store.turns.finish(turnId, "done", now(), usage ?? {});
      store.turns.advanceCursor(chatId, toSeq, now());
    });
    log.info({ chatId, turnId }, "turn finished");
  } catch (caught) {
    const err = breach ?? caught;
    if (deps.shutdownSignal.aborted) {
      log.warn({ chatId, turnId }, "turn interrupted by shutdown; it will run again at next start");
      return;
    }
    log.error({ err, chatId, turnId }, "turn failed");
    store.transaction(() => {
      store.turns.finish(turnId, "failed", now(), { error: describeError(err) });
      store.commitReply(chatId, turnId, failureReply(err), toSeq, now());
    });
    deps.onReply(chatId);
  } finally {
    unwatch?.();
    void deps.setTyping(chatId, false);
  }
}

async function streamTurn(
  chat: RegisteredChat,
  prompt: string,
  turnId: number,
  toSeq: number,
  deps: TurnDeps,
): Promise<{ inputTokens: number; outputTokens: number } | null> {
  const { store, now } = deps;
  let usage: { inputTokens: number; outputTokens: number } | null = null;
  const events = deps.runtime.runTurn({
    chat,
    prompt,
    sessionId: store.sessions.get(chat.chatId),
    signal: deps.shutdownSignal,
    onToolCall: deps.hostTools(chat),
  });
  for await (const event of events) {
    if (event.type === "reply") {
      if (event.text.trim() === "") continue;
      store.commitReply(chat.chatId, turnId, event.text, toSeq, now());
      deps.onReply(chat.chatId);
    } else {
      if (event.sessionId) store.sessions.set(chat.chatId, event.sessionId, now());
      usage = event.usage;
    }
  }
  return usage;
}
