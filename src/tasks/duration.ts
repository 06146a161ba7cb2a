import { TaskInputError } from "../errors.js";

const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1 } as const;
// Units in order, each at most once: "1h30m", "1d12h", "90s", "500ms".
const COMPOUND = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?$/;
/** Longer than any schedule needs, and far inside the range of a Date. */
const MAX_MS = 3650 * UNIT_MS.d;

/** The duration error; `what` names the value ("interval", "duration") so the message says which to fix. */
export function durationError(what: string, text: string): TaskInputError {
  return new TaskInputError(
    `${what} "${text}" is not a valid duration: use 90s, 10m, 2h, 1d, 1h30m or milliseconds like 60000`,
  );
}

/** Like {@link parseDuration}, with `what` naming the value in the error. */
export function parseDurationOf(what: string, text: string): number {
  const t = text.trim().toLowerCase().replace(/\s+/g, "");
  let ms: number;
  if (/^\d+$/.test(t)) {
    ms = Number(t);
  } else {
    const m = COMPOUND.exec(t);
    if (!m || t === "") throw durationError(what, text);
    const [, d, h, min, s, milli] = m;
    ms =
      Number(d ?? 0) * UNIT_MS.d +
      Number(h ?? 0) * UNIT_MS.h +
      Number(min ?? 0) * UNIT_MS.m +
      Number(s ?? 0) * UNIT_MS.s +
      Number(milli ?? 0);
  }
  if (!Number.isSafeInteger(ms) || ms <= 0) {
    if (ms === 0) throw new TaskInputError(`${what} "${text}" is zero: give a duration longer than 0`);
    throw durationError(what, text);
  }
  if (ms > MAX_MS) throw new TaskInputError(`${what} "${text}" is longer than the maximum of 3650d`);
  return ms;
}

/** "90s" "10m" "2h" "1d" "1h30m", or plain milliseconds "60000" -> ms; throws TaskInputError. */
export function parseDuration(text: string): number {
  return parseDurationOf("duration", text);
}

/** Milliseconds as the shortest exact duration: 600000 -> "10m", 5400000 -> "1h30m", 1500 -> "1500ms". */
export function formatDuration(ms: number): string {
  if (ms % 1000 !== 0) return `${ms}ms`;
  let rest = ms;
  let out = "";
  for (const unit of ["d", "h", "m", "s"] as const) {
    const n = Math.floor(rest / UNIT_MS[unit]);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * UNIT_MS[unit];
  }
  return out || "0s";
}
