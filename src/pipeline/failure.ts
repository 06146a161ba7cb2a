// What a chat is told when its turn fails. Group members read these: no upstream text, no operator
// detail (variables, image names, URLs); the full error goes to the log and to `npm run status`.
import { NestboxError } from "../errors.js";
import { AgentErrorCode } from "../protocol/error-codes.js";

/** The one notice an outage gives a chat; its messages stay unanswered until the model is back. */
export const MODEL_DOWN_NOTICE =
  "The AI model isn't answering right now. I'll reply to your messages as soon as it's back.";

/** The failure's code: an AgentError's (runner error frames keep theirs), else null. */
export function failureCode(err: unknown): string | null {
  return err instanceof NestboxError ? err.code : null;
}

/** True when the model endpoint was down for the whole retry window: the turn should run again later. */
export function isModelOutage(err: unknown): boolean {
  return failureCode(err) === AgentErrorCode.ModelUnavailable;
}

/** The short reply a chat gets when its turn fails for any other reason. */
export function failureReply(err: unknown): string {
  switch (failureCode(err)) {
    case "TURN_TIMEOUT":
      return "Sorry, that took too long, so I stopped working on it.";
    case "CHAT_DISK_LIMIT":
      return "Sorry, I can't work on this: this chat's folder is full. Delete some files and ask again.";
    case "STORE_DISK_LOW":
      return "Sorry, I can't answer right now: the host is low on disk space.";
    case AgentErrorCode.ModelError:
      // A refusal (4xx) or a path the host cannot use (TLS trust, no route): either way, no answer.
      return "Sorry, I couldn't get an answer from the AI model for this.";
    default:
      return "Sorry, something went wrong and I couldn't answer that.";
  }
}
