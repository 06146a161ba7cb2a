import { sanitizeName } from "../registration/chat.js";
import type { StoredMessage } from "../store/index.js";
import { formatWall } from "../tasks/zoned-time.js";

/** Caps for the catch-up prompt. */
export interface PromptLimits {
  maxMessages: number;
  maxChars: number;
  timezone: string;
}

const escapeXml = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** The last minute each zone formatted: messages of a burst share it (times have minute precision). */
const lastMinute = new Map<string, { minute: number; text: string }>();

function formatTime(ms: number, timezone: string): string {
  const minute = Math.floor(ms / 60_000);
  const last = lastMinute.get(timezone);
  if (last?.minute === minute) return last.text;
  // Whole minutes: formatWall shows seconds only when they are not zero.
  const text = formatWall(minute * 60_000, timezone);
  lastMinute.set(timezone, { minute, text });
  return text;
}

function formatMessage(m: StoredMessage, timezone: string): string {
  return `<message sender="${escapeXml(sanitizeName(m.senderName))}" time="${formatTime(m.timestamp, timezone)}">${escapeXml(m.text)}</message>`;
}

/**
 * Formats every message since the chat's last turn for the agent, oldest first, with time and
 * sender. Over the caps, the oldest are dropped first and a marker says how many.
 */
export function formatCatchUp(messages: readonly StoredMessage[], limits: PromptLimits): string {
  const lines = messages.map((m) => formatMessage(m, limits.timezone));
  let start = Math.max(0, lines.length - limits.maxMessages);
  const budget = limits.maxChars;
  let total = lines.slice(start).reduce((n, l) => n + l.length + 1, 0);
  while (total > budget && start < lines.length - 1) {
    total -= (lines[start] as string).length + 1;
    start++;
  }
  const kept = lines.slice(start);
  const last = kept.length - 1;
  if (last >= 0 && (kept[last] as string).length > budget) {
    const m = messages[start + last] as StoredMessage;
    const room = Math.max(0, budget - 200);
    kept[last] = formatMessage({ ...m, text: `${m.text.slice(0, room)}… [truncated]` }, limits.timezone);
  }
  const out: string[] = [];
  if (start > 0) out.push(`<omitted count="${start}">${start} earlier message(s) not shown</omitted>`);
  out.push(...kept);
  return `<messages>\n${out.join("\n")}\n</messages>`;
}
