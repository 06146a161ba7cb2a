import { createHash } from "node:crypto";
import { ChannelError, ChannelMaybeSentError, ChannelNetworkError, describeError } from "../../errors.js";
import { disconnectCode } from "./socket.js";

/** baileys codes for a connection that failed before the message frame was written. */
const NETWORK_CODES = new Set([428, 440, 500, 503, 515]);
/** baileys' "Timed Out": its frame write started but did not finish in time, so the server may have it. */
const TIMED_OUT = 408;

/**
 * The message id of chunk `index` of the send keyed `key`: shaped like baileys' own ids (3EB0 + 18 hex),
 * the same on every attempt, so a resend carries the id of the copy that may already be there.
 */
export function whatsappMessageId(key: string, index: number): string {
  const hash = createHash("sha256").update(`nestbox:${key}:${index}`).digest("hex");
  return `3EB0${hash.toUpperCase().slice(0, 18)}`;
}

/**
 * The typed error for a failed `sendMessage`: maybe-sent after a write timeout, not sent when the
 * socket went away (or closed) first, otherwise WhatsApp's refusal.
 */
export function sendError(err: unknown, chatId: string, socketChanged: boolean): ChannelError {
  const code = disconnectCode(err);
  if (code === TIMED_OUT) {
    return new ChannelMaybeSentError(
      "whatsapp",
      "WHATSAPP_MAYBE_SENT",
      `sending to WhatsApp timed out after the message was handed to the socket: ${describeError(err)}`,
      { cause: err },
    );
  }
  if (socketChanged || (code !== undefined && NETWORK_CODES.has(code))) {
    return new ChannelNetworkError(
      "whatsapp",
      "WHATSAPP_NETWORK",
      `sending to WhatsApp failed: ${describeError(err)}`,
      {
        cause: err,
      },
    );
  }
  return new ChannelError(
    "whatsapp",
    "WHATSAPP_SEND_FAILED",
    `WhatsApp refused the message to ${chatId}: ${describeError(err)}`,
    { cause: err },
  );
}
