import { MODEL_DOWN_NOTICE } from "../../src/pipeline/failure.js";

// Per-message accounting for the chaos suite: every pushed message has an id ("m<chat>-<n>") in its
// text; the scripted model names the ids it answers; a delivered reply is an answer to each id in it.

/** What one scenario measured. */
export interface ScenarioResult {
  name: string;
  /** Messages the platform double accepted from "users". */
  pushed: number;
  /** Pushed messages found in the store once the run is over. */
  stored: number;
  /** Never answered (and, if also not stored, silently lost). */
  lost: string[];
  answeredOnce: number;
  /** Answered in more than one delivered reply. */
  duplicated: string[];
  /** Extra copies of replies explained by a counted maybe-sent resend (the platform's edge). */
  explainedDuplicates: number;
  /** Outbox rows resent after an ambiguous send, and rows given up as maybe sent. */
  resends: number;
  maybeSent: number;
  /** Delivered replies that were only an apology or an outage notice. */
  apologies: number;
  /** Faults injected (kills, outages, ...), by kind. */
  faults: Record<string, number>;
  /** Slowest push -> answer time per chat, ms. */
  slowestAnswerMs: Record<string, number>;
  seconds: number;
  /** Extra figures a scenario reports. */
  notes: string[];
}

/** The ids a text names, in order. */
export function idsIn(text: string): string[] {
  return text.match(/\bm\d+-\d+\b/g) ?? [];
}

/** Pushed ids, answers seen, and when. */
export class Ledger {
  readonly pushedAt = new Map<string, number>();
  readonly chatOf = new Map<string, string>();
  #next = new Map<string, number>();

  /** The next message text for a chat (the chat's index makes ids unique across chats). */
  nextText(chatIndex: number, chatKey: string): string {
    const n = (this.#next.get(chatKey) ?? 0) + 1;
    this.#next.set(chatKey, n);
    const id = `m${chatIndex}-${n}`;
    this.pushedAt.set(id, Date.now());
    this.chatOf.set(id, chatKey);
    return `please ack ${id}`;
  }

  get pushed(): number {
    return this.pushedAt.size;
  }

  /**
   * Counts answers from the delivered replies (each with the time it was seen); `resends` maps a
   * reply's text to how often the host resent it after an ambiguous send: that many extra copies of
   * it are the platform's edge (explained), any more are duplicates.
   */
  count(
    delivered: { text: string; at: number }[],
    resends: Map<string, number>,
  ): Pick<
    ScenarioResult,
    "lost" | "answeredOnce" | "duplicated" | "explainedDuplicates" | "apologies" | "slowestAnswerMs"
  > {
    const answers = new Map<string, number>();
    const firstAt = new Map<string, number>();
    let apologies = 0;
    let explained = 0;
    const seenTexts = new Map<string, number>();
    for (const d of delivered) {
      const ids = idsIn(d.text);
      if (ids.length === 0) {
        // Command answers (/chatid) name no id either; only failure texts count as apologies.
        // WhatsApp replies start with the assistant's name ("Andy: "), Telegram's do not.
        const said = d.text.replace(/^Andy: /, "");
        if (said.startsWith("Sorry") || said === MODEL_DOWN_NOTICE) apologies += 1;
        continue;
      }
      const copies = (seenTexts.get(d.text) ?? 0) + 1;
      seenTexts.set(d.text, copies);
      if (copies > 1 && copies - 1 <= (resends.get(d.text) ?? 0)) {
        explained += 1;
        continue;
      }
      for (const id of ids) {
        if (!this.pushedAt.has(id)) continue;
        answers.set(id, (answers.get(id) ?? 0) + 1);
        if (!firstAt.has(id)) firstAt.set(id, d.at);
      }
    }
    const slowest: Record<string, number> = {};
    for (const [id, at] of firstAt) {
      const chat = this.chatOf.get(id) as string;
      const ms = at - (this.pushedAt.get(id) as number);
      slowest[chat] = Math.max(slowest[chat] ?? 0, ms);
    }
    const ids = [...this.pushedAt.keys()];
    return {
      lost: ids.filter((id) => !answers.has(id)),
      answeredOnce: ids.filter((id) => answers.get(id) === 1).length,
      duplicated: ids.filter((id) => (answers.get(id) ?? 0) > 1),
      explainedDuplicates: explained,
      apologies,
      slowestAnswerMs: slowest,
    };
  }
}
