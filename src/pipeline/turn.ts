import type { AgentRuntime, TurnRequest } from "../agents/agent-runtime.js";
import { AgentError, describeError } from "../errors.js";
import type { Logger } from "../log.js";
import { AgentErrorCode } from "../protocol/error-codes.js";
import type { RegisteredChat } from "../registration/chat.js";
import type { Store } from "../store/index.js";
import { failureCode, failureReply, isModelOutage, MODEL_DOWN_NOTICE } from "./failure.js";
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
  /** The model answered a turn (an outage, if any, is over). */
  onModelAnswered?: () => void;
  /** The model stayed down for the whole retry window; the chat's messages wait for it. */
  onModelOutage?: (chatId: string) => void;
}

/** The part of the disk guard a turn uses. */
export interface TurnDiskGuard {
  refusal(chat: RegisteredChat): { code: string; message: string } | null;
  watch(chat: RegisteredChat, onBreach: (refusal: { code: string; message: string }) => void): () => void;
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
    deps.onModelAnswered?.();
  } catch (caught) {
    const err = breach ?? caught;
    if (deps.shutdownSignal.aborted) {
      log.warn({ chatId, turnId }, "turn interrupted by shutdown; it will run again at next start");
      return;
    }
    const details = { error: describeError(err), errorCode: failureCode(err) ?? undefined };
    if (isModelOutage(err)) {
      recordOutage(chatId, turnId, details, deps);
      return;
    }
    log.error({ err, chatId, turnId }, "turn failed");
    store.transaction(() => {
      store.turns.finish(turnId, "failed", now(), details);
      store.commitReply(chatId, turnId, failureReply(err), toSeq, now());
    });
    deps.onReply(chatId);
  } finally {
    unwatch?.();
    void deps.setTyping(chatId, false);
  }
}

/**
 * The model was down for the whole retry window: the turn fails but its messages stay unanswered
 * (the cursor stays), and the chat hears about it once per outage, not once per attempt.
 */
function recordOutage(
  chatId: string,
  turnId: number,
  details: { error: string; errorCode?: string },
  deps: TurnDeps,
): void {
  const { store, log, now } = deps;
  const previous = store.turns.previousFinished(chatId, turnId);
  const told = previous?.status === "failed" && previous.errorCode === AgentErrorCode.ModelUnavailable;
  log.warn(
    { chatId, turnId, error: details.error },
    "model unavailable: the chat's messages stay unanswered until it answers again",
  );
  store.transaction(() => {
    store.turns.finish(turnId, "failed", now(), details);
    if (!told) store.outbox.add(chatId, turnId, MODEL_DOWN_NOTICE, now());
  });
  if (!told) deps.onReply(chatId);
  deps.onModelOutage?.(chatId);
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
