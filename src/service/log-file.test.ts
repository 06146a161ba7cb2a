import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RotatingFile } from "./log-file.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "nestbox-logfile-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const line = (n: number) => `${JSON.stringify({ n, msg: "x".repeat(40) })}\n`;

describe("RotatingFile", () => {
  it("rotates by size: at most `files` files, none past maxBytes, the newest lines kept in order", () => {
    const file = path.join(dir, "logs", "nestbox.log");
    const log = new RotatingFile({ file, maxBytes: 500, files: 3 });
    for (let n = 0; n < 100; n++) log.write(line(n));
    log.close();
    expect(readdirSync(path.dirname(file)).sort()).toEqual(["nestbox.log", "nestbox.log.1", "nestbox.log.2"]);
    const oldestFirst = [`${file}.2`, `${file}.1`, file];
    for (const f of oldestFirst) expect(statSync(f).size).toBeLessThanOrEqual(500);
    const kept = oldestFirst.flatMap((f) =>
      readFileSync(f, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as { n: number }).n),
    );
    // Contiguous up to the last line written: rotation never loses or reorders what it keeps.
    expect(kept.at(-1)).toBe(99);
    expect(kept).toEqual(kept.map((_, i) => 99 - (kept.length - 1) + i));
    expect(kept.length).toBeGreaterThan(15);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it("folders made on the way keep the usual mode: a 0700 data folder would hide every mount from the agents", () => {
    const data = path.join(dir, "data");
    new RotatingFile({ file: path.join(data, "logs", "nestbox.log") }).close();
    const usual = 0o777 & ~process.umask();
    expect(statSync(data).mode & 0o777).toBe(usual);
    expect(statSync(path.join(data, "logs")).mode & 0o777).toBe(usual);
    expect(statSync(path.join(data, "logs", "nestbox.log")).mode & 0o777).toBe(0o600);
  });

  it("appends to an existing file and counts its size toward the limit", () => {
    const file = path.join(dir, "nestbox.log");
    const first = new RotatingFile({ file, maxBytes: 200, files: 2 });
    first.write(line(1));
    first.write(line(2));
    first.close();
    const second = new RotatingFile({ file, maxBytes: 200, files: 2 });
    second.write(line(3));
    second.write(line(4));
    second.close();
    expect(readFileSync(`${file}.1`, "utf8")).toBe(line(1) + line(2) + line(3));
    expect(readFileSync(file, "utf8")).toBe(line(4));
  });
});
