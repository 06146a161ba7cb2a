import { describe, expect, it } from "vitest";
import { TaskInputError } from "../errors.js";
import {
  describeRun,
  describeSchedule,
  formatDuration,
  nextRunAfter,
  parseDuration,
  parseSchedule,
} from "./schedule.js";
import type { Schedule } from "./task.js";

const TZ = "Europe/Berlin";
const rules = { timezone: TZ, minIntervalMs: 60_000 };
const at = (iso: string) => Date.parse(iso);
const NOW = at("2026-12-01T06:55:00Z"); // Tue 07:55 in Berlin
const cron = (value: string): Schedule => parseSchedule("cron", value, NOW, rules);

/** Every run of `s` in [from, to), following nextRunAfter as the scheduler does. */
function runsBetween(s: Schedule, from: number, to: number): string[] {
  const out: string[] = [];
  let t = nextRunAfter(s, from - 1, TZ);
  while (t !== null && t < to) {
    out.push(new Date(t).toISOString());
    t = nextRunAfter(s, t, TZ);
  }
  return out;
}

function inputError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TaskInputError);
    expect((err as TaskInputError).code).toBe("TASK_INPUT");
    return (err as Error).message;
  }
  throw new Error("expected a TaskInputError");
}

describe("cron schedules", () => {
  it("normalises whitespace and runs at the local time of the zone", () => {
    expect(cron("  0   8 * *\t* ")).toEqual({ type: "cron", value: "0 8 * * *" });
    expect(nextRunAfter(cron("0 8 * * *"), NOW, TZ)).toBe(at("2026-12-01T07:00:00Z"));
    expect(nextRunAfter(cron("0 8 * * *"), NOW, "America/New_York")).toBe(at("2026-12-01T13:00:00Z"));
  });

  it("returns the first run strictly after the given time, to the millisecond", () => {
    const s = cron("0 8 * * *");
    expect(nextRunAfter(s, at("2026-12-01T06:59:59.999Z"), TZ)).toBe(at("2026-12-01T07:00:00Z"));
    expect(nextRunAfter(s, at("2026-12-01T07:00:00.000Z"), TZ)).toBe(at("2026-12-02T07:00:00Z"));
    expect(nextRunAfter(s, at("2026-12-01T07:00:00.500Z"), TZ)).toBe(at("2026-12-02T07:00:00Z"));
  });

  it("runs a time that the spring change skips once, at 03:00 local", () => {
    const runs = runsBetween(cron("30 2 * * *"), at("2026-03-28T12:00:00Z"), at("2026-03-30T12:00:00Z"));
    // 2026-03-29 02:30 does not exist in Berlin (02:00 CET -> 03:00 CEST).
    expect(runs).toEqual(["2026-03-29T01:00:00.000Z", "2026-03-30T00:30:00.000Z"]);
  });

  it("runs a time that the autumn change repeats once", () => {
    const runs = runsBetween(cron("30 2 * * *"), at("2026-10-24T12:00:00Z"), at("2026-10-26T12:00:00Z"));
    // 02:30 happens twice on 2026-10-25 (CEST, then CET): the first one runs, the second does not.
    expect(runs).toEqual(["2026-10-25T00:30:00.000Z", "2026-10-26T01:30:00.000Z"]);
  });

  it("runs a list of fixed times once each on the autumn day, a wildcard minute in both copies of the hour", () => {
    const fixed = runsBetween(cron("30 2,14 * * *"), at("2026-10-24T22:00:00Z"), at("2026-10-25T22:00:00Z"));
    expect(fixed).toEqual(["2026-10-25T00:30:00.000Z", "2026-10-25T13:30:00.000Z"]);
    const hourly = runsBetween(cron("0 * * * *"), at("2026-10-24T22:30:00Z"), at("2026-10-25T02:30:00Z"));
    // 01:00 CEST, 02:00 CEST, 02:00 CET, 03:00 CET: every real hour once.
    expect(hourly).toEqual([
      "2026-10-24T23:00:00.000Z",
      "2026-10-25T00:00:00.000Z",
      "2026-10-25T01:00:00.000Z",
      "2026-10-25T02:00:00.000Z",
    ]);
  });

  it("keeps 08:00 local across both changes", () => {
    const s = cron("0 8 * * *");
    expect(runsBetween(s, at("2026-03-28T00:00:00Z"), at("2026-03-31T00:00:00Z"))).toEqual([
      "2026-03-28T07:00:00.000Z",
      "2026-03-29T06:00:00.000Z",
      "2026-03-30T06:00:00.000Z",
    ]);
    expect(runsBetween(s, at("2026-10-24T00:00:00Z"), at("2026-10-27T00:00:00Z"))).toEqual([
      "2026-10-24T06:00:00.000Z",
      "2026-10-25T07:00:00.000Z",
      "2026-10-26T07:00:00.000Z",
    ]);
  });

  it("runs a weekday cron Monday to Friday only", () => {
    const s = cron("0 8 * * 1-5");
    // Friday 2026-12-04 09:00 Berlin: the next run is Monday.
    expect(nextRunAfter(s, at("2026-12-04T08:00:00Z"), TZ)).toBe(at("2026-12-07T07:00:00Z"));
    const week = runsBetween(s, at("2026-11-30T00:00:00Z"), at("2026-12-07T00:00:00Z"));
    expect(week).toHaveLength(5);
    expect(describeSchedule(s, TZ)).toBe("cron 0 8 * * 1-5");
  });

  it("refuses anything but 5 fields, with the 5-field message", () => {
    expect(inputError(() => cron("0 8 *"))).toBe(
      'cron needs 5 fields (minute hour day-of-month month day-of-week), got 3: "0 8 *"',
    );
    expect(inputError(() => cron("0 0 8 * * *"))).toBe(
      'cron needs 5 fields (minute hour day-of-month month day-of-week), got 6: "0 0 8 * * *"',
    );
    expect(inputError(() => cron("@daily"))).toBe(
      'cron needs 5 fields (minute hour day-of-month month day-of-week), got 1: "@daily"',
    );
  });

  it("names the bad field and the allowed ranges", () => {
    expect(inputError(() => cron("61 8 * * *"))).toBe(
      'cron "61 8 * * *" is not valid (Invalid value for minute: 61); fields: minute 0-59, hour 0-23, day-of-month 1-31, month 1-12 or JAN-DEC, day-of-week 0-6 (0 = Sunday) or SUN-SAT',
    );
    expect(inputError(() => cron("0 8 * * funday"))).toMatch(
      /^cron "0 8 \* \* funday" is not valid \(.+\); fields: /,
    );
  });

  it("refuses a cron that never fires", () => {
    expect(inputError(() => cron("0 0 30 2 *"))).toBe(
      'cron "0 0 30 2 *" never fires: no date matches it (e.g. February 30th)',
    );
  });
});

describe("interval schedules", () => {
  it("stores whole milliseconds and describes them as a duration", () => {
    expect(parseSchedule("interval", "10m", NOW, rules)).toEqual({ type: "interval", value: "600000" });
    expect(parseSchedule("interval", "90000", NOW, rules)).toEqual({ type: "interval", value: "90000" });
    expect(describeSchedule({ type: "interval", value: "600000" }, TZ)).toBe("every 10m");
    expect(describeSchedule({ type: "interval", value: "5400000" }, TZ)).toBe("every 1h30m");
  });

  it("starts one interval from now, then stays on the anchor's grid when a run is late", () => {
    const s: Schedule = { type: "interval", value: "600000" };
    expect(nextRunAfter(s, NOW, TZ)).toBe(NOW + 600_000);
    const anchor = NOW + 600_000;
    // The run due at `anchor` fired 6.5 minutes late: the next is still anchor + 10m, not late + 10m.
    expect(nextRunAfter(s, anchor + 390_000, TZ, anchor)).toBe(anchor + 600_000);
    // Fired on time: strictly after, so the next slot.
    expect(nextRunAfter(s, anchor, TZ, anchor)).toBe(anchor + 600_000);
    // Down for 35 minutes: one next slot after now, no backlog.
    expect(nextRunAfter(s, anchor + 35 * 60_000, TZ, anchor)).toBe(anchor + 40 * 60_000);
  });

  it("refuses an interval below the minimum, naming the minimum", () => {
    expect(inputError(() => parseSchedule("interval", "30s", NOW, rules))).toBe(
      'interval "30s" is shorter than the minimum of 1m',
    );
    expect(parseSchedule("interval", "30s", NOW, { ...rules, minIntervalMs: 1000 }).value).toBe("30000");
  });

  it("refuses a value that is not a duration", () => {
    expect(inputError(() => parseSchedule("interval", "soon", NOW, rules))).toBe(
      'interval "soon" is not a valid duration: use 90s, 10m, 2h, 1d, 1h30m or milliseconds like 60000',
    );
    expect(inputError(() => parseSchedule("interval", "0", NOW, rules))).toBe(
      'interval "0" is zero: give a duration longer than 0',
    );
  });
});

describe("once schedules", () => {
  const once = (value: string, zone = TZ) => parseSchedule("once", value, NOW, { ...rules, timezone: zone });

  it("takes an ISO time with an offset or Z as that instant", () => {
    expect(once("2026-12-24T08:00+01:00").value).toBe(String(at("2026-12-24T07:00:00Z")));
    expect(once("2026-12-24T08:00:30-0500").value).toBe(String(at("2026-12-24T13:00:30Z")));
    expect(once("2026-12-24T08:00:00.250Z").value).toBe(String(at("2026-12-24T08:00:00.250Z")));
  });

  it("reads an ISO time without an offset in the configured zone, summer or winter", () => {
    expect(once("2026-12-24T08:00").value).toBe(String(at("2026-12-24T07:00:00Z")));
    expect(once("2026-12-24 08:00").value).toBe(String(at("2026-12-24T07:00:00Z")));
    expect(once("2027-07-01T08:00").value).toBe(String(at("2027-07-01T06:00:00Z")));
    expect(once("2026-12-24T08:00", "America/New_York").value).toBe(String(at("2026-12-24T13:00:00Z")));
  });

  it("reads a local time in a DST gap with the offset before it, and a repeated one as the first", () => {
    expect(once("2027-03-28T02:30").value).toBe(String(at("2027-03-28T01:30:00Z"))); // 03:30 CEST
    expect(once("2027-10-31T02:30").value).toBe(String(at("2027-10-31T00:30:00Z"))); // the CEST one
  });

  it('takes "in <duration>" from now', () => {
    expect(once("in 10m").value).toBe(String(NOW + 600_000));
    expect(once("IN 1h30m").value).toBe(String(NOW + 5_400_000));
  });

  it("runs once, strictly after its time only", () => {
    const s = once("in 10m");
    expect(nextRunAfter(s, NOW, TZ)).toBe(NOW + 600_000);
    expect(nextRunAfter(s, NOW + 600_000, TZ)).toBeNull();
    expect(describeSchedule(once("2026-12-24T08:00"), TZ)).toBe("once at 2026-12-24 08:00 (Europe/Berlin)");
  });

  it("refuses a time in the past", () => {
    expect(inputError(() => once("2026-11-30T08:00"))).toBe("once time 2026-11-30T08:00 is in the past");
    expect(inputError(() => once("2026-12-01T07:55"))).toBe("once time 2026-12-01T07:55 is in the past");
  });

  it("refuses what is not an ISO 8601 time, saying what to use", () => {
    for (const bad of [
      "2026-13-01T08:00",
      "2026-02-30T08:00",
      "2026-12-24T24:00",
      "tomorrow",
      "2026-12-24",
    ]) {
      expect(inputError(() => once(bad))).toBe(
        `once time "${bad}" is not a valid ISO 8601 time: use 2026-12-24T08:00 or "in 10m"`,
      );
    }
    expect(inputError(() => once("in a while"))).toBe(
      'once time "a while" is not a valid duration: use 90s, 10m, 2h, 1d, 1h30m or milliseconds like 60000',
    );
  });
});

describe("parseSchedule", () => {
  it("refuses an unknown schedule type", () => {
    expect(inputError(() => parseSchedule("weekly", "x", NOW, rules))).toBe(
      'schedule_type must be "cron", "interval" or "once", got "weekly"',
    );
  });
});

describe("parseDuration", () => {
  it.each([
    ["90s", 90_000],
    ["10m", 600_000],
    ["2h", 7_200_000],
    ["1d", 86_400_000],
    ["1h30m", 5_400_000],
    ["1h 30m", 5_400_000],
    ["500ms", 500],
    ["60000", 60_000],
  ])("reads %s", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it("refuses malformed, zero and huge durations", () => {
    expect(inputError(() => parseDuration("10 minutes"))).toBe(
      'duration "10 minutes" is not a valid duration: use 90s, 10m, 2h, 1d, 1h30m or milliseconds like 60000',
    );
    expect(inputError(() => parseDuration("30m1h"))).toMatch(/is not a valid duration/);
    expect(inputError(() => parseDuration(""))).toMatch(/is not a valid duration/);
    expect(inputError(() => parseDuration("0s"))).toBe(
      'duration "0s" is zero: give a duration longer than 0',
    );
    expect(inputError(() => parseDuration("4000d"))).toBe(
      'duration "4000d" is longer than the maximum of 3650d',
    );
  });

  it("formats milliseconds back as the shortest exact duration", () => {
    expect([60_000, 90_000, 5_400_000, 86_400_000 + 3_600_000, 1500].map(formatDuration)).toEqual([
      "1m",
      "1m30s",
      "1h30m",
      "1d1h",
      "1500ms",
    ]);
  });
});

describe("describeRun", () => {
  it("says how far away and when, in the zone's local time", () => {
    expect(describeRun(at("2026-12-01T07:00:00Z"), NOW, TZ)).toBe(
      "in 5 min, Tue 2026-12-01 08:00 Europe/Berlin",
    );
    expect(describeRun(at("2026-12-01T10:15:00Z"), NOW, TZ)).toBe(
      "in 3 h 20 min, Tue 2026-12-01 11:15 Europe/Berlin",
    );
    expect(describeRun(at("2026-12-04T07:00:00Z"), NOW, TZ)).toBe(
      "in 3 d, Fri 2026-12-04 08:00 Europe/Berlin",
    );
    expect(describeRun(NOW + 20_000, NOW, TZ)).toBe(
      "in under a minute, Tue 2026-12-01 07:55:20 Europe/Berlin",
    );
    expect(describeRun(NOW, NOW, TZ)).toBe("due now, Tue 2026-12-01 07:55 Europe/Berlin");
    expect(describeRun(NOW - 300_000, NOW, TZ)).toBe("overdue by 5 min, Tue 2026-12-01 07:50 Europe/Berlin");
  });
});
