import { GrammyError, HttpError } from "grammy";
import { ChannelError, ChannelMaybeSentError, ChannelNetworkError } from "../../errors.js";

/** What a person sees when Telegram refuses the token. */
export const UNAUTHORIZED_MESSAGE = "Telegram rejected the bot token (401): check TELEGRAM_BOT_TOKEN";
/** What a person sees when another process polls the same bot. */
export const CONFLICT_MESSAGE =
  "Telegram says another instance is polling this bot (409): stop it or use one token per instance";

/** How a failed Bot API call should be handled. */
export type Failure =
  | { kind: "unauthorized" }
  | { kind: "conflict" }
  | { kind: "rate_limited"; retryAfterMs: number }
  /** The network failed, the request timed out, or Telegram had a server error: retrying may help. */
  | { kind: "transient" }
  /** Telegram said no for a reason retrying will not fix (bad chat, bot blocked...). */
  | { kind: "refused"; status: number; description: string; migratedTo?: number };

/** Sorts an error thrown by a grammy API call into what to do about it. */
export function classify(err: unknown): Failure {
  if (err instanceof GrammyError) {
    if (err.error_code === 401) return { kind: "unauthorized" };
    if (err.error_code === 409) return { kind: "conflict" };
    if (err.error_code === 429)
      return { kind: "rate_limited", retryAfterMs: (err.parameters.retry_after ?? 1) * 1000 };
    if (err.error_code >= 500) return { kind: "transient" };
    const migratedTo = err.parameters.migrate_to_chat_id;
    return { kind: "refused", status: err.error_code, description: err.description, migratedTo };
  }
  return { kind: "transient" };
}

/** Socket errors raised before a request could be written: the call certainly did not reach Telegram. */
const NOT_SENT_CODES = new Set([
  "ENOTFOUND",
  "EAI_AGAIN",
  "ECONNREFUSED",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
  "EADDRNOTAVAIL",
]);

/**
 * Whether a failed call may still have been carried out. A GrammyError is Telegram's own "ok: false"
 * answer (it did not do it); DNS and connect failures never wrote the request; anything else (a reset,
 * a timeout, a front's non-JSON answer) came after the request was written, so Telegram may have it.
 */
export function mayHaveSent(err: unknown): boolean {
  if (err instanceof GrammyError) return false;
  if (err instanceof HttpError) {
    const code = (err.error as { code?: unknown } | undefined)?.code;
    return !(typeof code === "string" && NOT_SENT_CODES.has(code));
  }
  return true;
}

/** The error for a call that may have been carried out; the outbox resends it at most once. */
export function toMaybeSentError(err: unknown, method: string): ChannelMaybeSentError {
  return new ChannelMaybeSentError(
    "telegram",
    "TELEGRAM_MAYBE_SENT",
    `Telegram may have received ${method} but did not answer: ${describeFailure(err)}`,
    { cause: new Error(describeFailure(err)) },
  );
}

/**
 * One line about a failed call that is safe to log: HttpError wraps a fetch error whose message holds
 * the request URL, and with it the bot token, so only its code and grammy's own text are kept.
 */
export function describeFailure(err: unknown): string {
  if (err instanceof GrammyError) return `${err.method}: ${err.error_code} ${err.description}`;
  if (err instanceof HttpError) {
    const inner = err.error as { code?: unknown; type?: unknown; name?: unknown } | undefined;
    const reason = inner?.code ?? inner?.type ?? inner?.name;
    return reason ? `${err.message} (${String(reason)})` : err.message;
  }
  if (err instanceof Error) return err.name === "AbortError" ? "request timed out" : err.message;
  return String(err);
}

/** The ChannelError for a failed call, with a cause that never carries the token. */
export function toChannelError(err: unknown, method: string): ChannelError {
  const failure = classify(err);
  const cause = err instanceof GrammyError ? err : new Error(describeFailure(err));
  switch (failure.kind) {
    case "unauthorized":
      return new ChannelError("telegram", "TELEGRAM_UNAUTHORIZED", UNAUTHORIZED_MESSAGE, { cause });
    case "conflict":
      return new ChannelError("telegram", "TELEGRAM_CONFLICT", CONFLICT_MESSAGE, { cause });
    case "rate_limited":
      return new ChannelNetworkError(
        "telegram",
        "TELEGRAM_RATE_LIMITED",
        `Telegram rate-limited ${method}; retry after ${failure.retryAfterMs / 1000}s`,
        { cause },
      );
    case "transient":
      return new ChannelNetworkError(
        "telegram",
        "TELEGRAM_NETWORK",
        `Could not reach Telegram for ${method}: ${describeFailure(err)}; check the network and HTTPS_PROXY`,
        { cause },
      );
    case "refused":
      return new ChannelError(
        "telegram",
        "TELEGRAM_API_ERROR",
        `Telegram refused ${method} (${failure.status}): ${failure.description}` +
          (failure.migratedTo ? `; the group is now tg:${failure.migratedTo}, register that id` : ""),
        { cause },
      );
  }
}
