import { Cron } from "croner";
import { TaskInputError } from "../errors.js";
import { formatDuration, parseDurationOf } from "./duration.js";
import type { Schedule, ScheduleType } from "./task.js";
import { formatWall, type WallTime, wallTime, zonedToEpoch } from "./zoned-time.js";

export { formatDuration, parseDuration } from "./duration.js";

/** What a schedule is checked against: the configured zone and the shortest interval allowed. */
export interface ScheduleRules {
  timezone: string;
  minIntervalMs: number;
}

const TYPES: readonly ScheduleType[] = ["cron", "interval", "once"];
const CRON_FIELDS = "minute hour day-of-month month day-of-week";
const CRON_RANGES =
  "minute 0-59, hour 0-23, day-of-month 1-31, month 1-12 or JAN-DEC, day-of-week 0-6 (0 = Sunday) or SUN-SAT";

/** Validates and normalises; throws TaskInputError. `now` anchors "in 10m" and the past check. */
export function parseSchedule(type: string, value: string, now: number, rules: ScheduleRules): Schedule {
  if (!TYPES.includes(type as ScheduleType)) {
    throw new TaskInputError(`schedule_type must be "cron", "interval" or "once", got "${type}"`);
  }
  switch (type as ScheduleType) {
    case "cron":
      return { type: "cron", value: parseCron(value, now, rules.timezone) };
    case "interval":
      return { type: "interval", value: String(parseInterval(value, rules.minIntervalMs)) };
    case "once":
      return { type: "once", value: String(parseOnce(value, now, rules.timezone)) };
  }
}

// Lists and ranges of fixed hours ("30 2,14 * * *") count as fixed times too: a repeated hour runs
// them once. Wildcards and steps ("*/15 * * * *") are interval-like and run in both copies of the hour.
const cronOf = (expression: string, timezone: string) =>
  new Cron(expression, { timezone, mode: "5-part", paused: true, fixedTimeRule: "no-wildcard" });

function parseCron(value: string, now: number, timezone: string): string {
  const fields = value.trim().split(/\s+/).filter(Boolean);
  const expression = fields.join(" ");
  if (fields.length !== 5) {
    throw new TaskInputError(`cron needs 5 fields (${CRON_FIELDS}), got ${fields.length}: "${expression}"`);
  }
  let cron: Cron;
  try {
    cron = cronOf(expression, timezone);
  } catch (err) {
    const reason = (err as Error).message.replace(/^CronPattern:\s*/, "");
    throw new TaskInputError(`cron "${expression}" is not valid (${reason}); fields: ${CRON_RANGES}`, {
      cause: err,
    });
  }
  if (cron.nextRun(new Date(now)) === null) {
    throw new TaskInputError(`cron "${expression}" never fires: no date matches it (e.g. February 30th)`);
  }
  return expression;
}

function parseInterval(value: string, minIntervalMs: number): number {
  const ms = parseDurationOf("interval", value);
  if (ms < minIntervalMs) {
    throw new TaskInputError(
      `interval "${value.trim()}" is shorter than the minimum of ${formatDuration(minIntervalMs)}`,
    );
  }
  return ms;
}

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

function parseOnce(value: string, now: number, timezone: string): number {
  const text = value.trim();
  const relative = /^in\s+(.+)$/i.exec(text);
  if (relative) return now + parseDurationOf("once time", relative[1] as string);
  const at = parseIsoTime(text, timezone);
  if (at === null) {
    throw new TaskInputError(
      `once time "${text}" is not a valid ISO 8601 time: use 2026-12-24T08:00 or "in 10m"`,
    );
  }
  if (at <= now) throw new TaskInputError(`once time ${text} is in the past`);
  return at;
}

/** An ISO 8601 date and time; with Z or an offset it is that instant, without one a wall time in `timezone`. */
function parseIsoTime(text: string, timezone: string): number | null {
  const m = ISO.exec(text);
  if (!m) return null;
  const n = (i: number) => Number(m[i] ?? 0);
  const w: WallTime = {
    year: n(1),
    month: n(2),
    day: n(3),
    hour: n(4),
    minute: n(5),
    second: n(6),
    millisecond: Number((m[7] ?? "0").padEnd(3, "0")),
  };
  const daysInMonth = new Date(Date.UTC(w.year, w.month, 0)).getUTCDate();
  if (w.month < 1 || w.month > 12 || w.day < 1 || w.day > daysInMonth) return null;
  if (w.hour > 23 || w.minute > 59 || w.second > 59) return null;
  const zone = m[8];
  if (zone === undefined) return zonedToEpoch(w, timezone);
  const wall = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second, w.millisecond);
  if (zone.toUpperCase() === "Z") return wall;
  const digits = zone.slice(1).replace(":", "");
  const offsetMin = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || 0);
  if (offsetMin > 18 * 60) return null;
  return wall - (zone[0] === "-" ? -1 : 1) * offsetMin * 60_000;
}

/** The first run strictly after `after` (ms), or null (a once-task whose time is not after `after`). */
export function nextRunAfter(s: Schedule, after: number, timezone: string, anchor?: number): number | null {
  switch (s.type) {
    case "cron":
      return cronOf(s.value, timezone).nextRun(new Date(after))?.getTime() ?? null;
    case "interval": {
      const every = Number(s.value);
      if (anchor === undefined) return after + every;
      // On the anchor's grid, so a late run does not shift the ones after it.
      return anchor + (Math.floor((after - anchor) / every) + 1) * every;
    }
    case "once": {
      const at = Number(s.value);
      return at > after ? at : null;
    }
  }
}

/** "every 10m", "cron 0 8 * * 1-5", "once at 2026-12-24 08:00 (Europe/Berlin)". */
export function describeSchedule(s: Schedule, timezone: string): string {
  switch (s.type) {
    case "cron":
      return `cron ${s.value}`;
    case "interval":
      return `every ${formatDuration(Number(s.value))}`;
    case "once":
      return `once at ${formatWall(Number(s.value), timezone)} (${timezone})`;
  }
}

/** "in 5 min, Tue 2026-12-01 08:00 Europe/Berlin" (relative to now, local time in the zone). */
export function describeRun(at: number, now: number, timezone: string): string {
  return `${relative(at - now)}, ${wallTime(at, timezone).weekday} ${formatWall(at, timezone)} ${timezone}`;
}

function relative(ms: number): string {
  if (ms < -60_000) return `overdue by ${span(-ms)}`;
  if (ms < 60_000) return ms <= 0 ? "due now" : "in under a minute";
  return `in ${span(ms)}`;
}

/** A coarse span for people: "5 min", "3 h 20 min", "2 d 4 h". */
function span(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
  const days = Math.floor(hours / 24);
  return hours % 24 ? `${days} d ${hours % 24} h` : `${days} d`;
}
