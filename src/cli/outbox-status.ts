import type { OutboxRow } from "../store/index.js";

/** Delivery counts for a set of outbox rows. */
export interface OutboxCounts {
  pending: number;
  /** In flight now, or left in flight by a run that died (the next start resends them at most once). */
  sending: number;
  /** Refused for good by the platform. */
  failed: number;
  /** Given up after a second ambiguous outcome: may be on the platform twice, or not at all. */
  failedMaybeSent: number;
  /** Rows with at least one ambiguous outcome (reset or timeout after the request, crash while sending). */
  maybeSent: number;
  /** Resends made after an ambiguous outcome: each is at most one extra copy on the platform. */
  resends: number;
}

/** The outbox part of `nestbox status`: totals, and the chats with anything other than delivered rows. */
export interface OutboxStatus extends OutboxCounts {
  byChat: ({ chatId: string } & OutboxCounts)[];
}

const zero = (): OutboxCounts => ({
  pending: 0,
  sending: 0,
  failed: 0,
  failedMaybeSent: 0,
  maybeSent: 0,
  resends: 0,
});

function add(c: OutboxCounts, r: OutboxRow): void {
  if (r.status === "pending") c.pending++;
  else if (r.status === "sending") c.sending++;
  else if (r.status === "failed") c.failed++;
  else if (r.status === "failed-maybe-sent") c.failedMaybeSent++;
  if (r.maybeSent > 0) c.maybeSent++;
  c.resends += r.resends;
}

/** Counts rows overall and per chat; a chat whose rows were all delivered cleanly is left out. */
export function outboxStatus(rows: readonly OutboxRow[]): OutboxStatus {
  const total = zero();
  const chats = new Map<string, OutboxCounts>();
  for (const r of rows) {
    add(total, r);
    const c = chats.get(r.chatId) ?? zero();
    add(c, r);
    chats.set(r.chatId, c);
  }
  const byChat = [...chats]
    .filter(([, c]) => Object.values(c).some((n) => n > 0))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([chatId, c]) => ({ chatId, ...c }));
  return { ...total, byChat };
}

/** One line of counts: "1 pending, 0 failed, 0 failed maybe-sent; 0 maybe sent, 0 resent" (+ sending). */
export function describeCounts(c: OutboxCounts): string {
  const sending = c.sending > 0 ? `, ${c.sending} sending` : "";
  return `${c.pending} pending${sending}, ${c.failed} failed, ${c.failedMaybeSent} failed maybe-sent; ${c.maybeSent} maybe sent, ${c.resends} resent`;
}
