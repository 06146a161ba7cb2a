/** A wall-clock time in some time zone (month 1-12). */
export interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  millisecond: number;
}

const formats = new Map<string, Intl.DateTimeFormat>();

function formatFor(timezone: string): Intl.DateTimeFormat {
  let f = formats.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: timezone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      weekday: "short",
    });
    formats.set(timezone, f);
  }
  return f;
}

/** The wall-clock time at `epoch` in `timezone`, with the short English weekday. */
export function wallTime(epoch: number, timezone: string): WallTime & { weekday: string } {
  const parts: Record<string, string> = {};
  for (const p of formatFor(timezone).formatToParts(new Date(epoch))) parts[p.type] = p.value;
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    second: Number(parts.second),
    millisecond: ((epoch % 1000) + 1000) % 1000,
    weekday: parts.weekday ?? "",
  };
}

const asUtc = (w: WallTime) =>
  Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second, w.millisecond);

/** The zone's offset from UTC at `epoch`, in ms. */
function offsetAt(epoch: number, timezone: string): number {
  return asUtc(wallTime(epoch, timezone)) - epoch;
}

/**
 * The instant a wall-clock time names in `timezone`. A time that occurs twice (autumn) is its first
 * occurrence; one that does not exist (spring gap) is read with the offset before the gap, as
 * RFC 5545 and Temporal do (02:30 in a 02:00-03:00 gap is 03:30).
 */
export function zonedToEpoch(w: WallTime, timezone: string): number {
  const wall = asUtc(w);
  const day = 86_400_000;
  const before = offsetAt(wall - day, timezone);
  const after = offsetAt(wall + day, timezone);
  const matches = [...new Set([before, after])]
    .map((offset) => wall - offset)
    .filter((t) => asUtc(wallTime(t, timezone)) === wall)
    .sort((a, b) => a - b);
  return matches[0] ?? wall - before;
}

const pad = (n: number) => String(n).padStart(2, "0");

/** "2026-12-01 08:00" (seconds only when not zero) in the zone. */
export function formatWall(epoch: number, timezone: string): string {
  const w = wallTime(epoch, timezone);
  const seconds = w.second !== 0 ? `:${pad(w.second)}` : "";
  return `${w.year}-${pad(w.month)}-${pad(w.day)} ${pad(w.hour)}:${pad(w.minute)}${seconds}`;
}
