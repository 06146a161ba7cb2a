import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";

const fixture = path.join(import.meta.dirname, "fixtures", "crash-host.ts");
const tsx = path.join(import.meta.dirname, "..", "node_modules", ".bin", "tsx");

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function startHost(env: Record<string, string>): {
  child: ChildProcess;
  stderr: () => string;
  waitFor: (s: string) => Promise<void>;
} {
  const child = spawn(tsx, [fixture], {
    env: { ...process.env, DATA_DIR: dir, DELIVERIES: path.join(dir, "deliveries.jsonl"), ...env },
    stdio: ["pipe", "ignore", "pipe"],
  });
  let err = "";
  const waiters: (() => void)[] = [];
  child.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
    for (const w of waiters) w();
  });
  const waitFor = (s: string) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`host never printed ${s}; stderr:\n${err}`)), 20_000);
      const check = () => {
        if (err.includes(s)) {
          clearTimeout(timer);
          resolve();
        }
      };
      waiters.push(check);
      check();
    });
  return { child, stderr: () => err, waitFor };
}

const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once("exit", (code) => resolve(code));
  });

function deliveries(): { chatId: string; text: string }[] {
  const file = path.join(dir, "deliveries.jsonl");
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

describe("crash recovery with a real host process killed by SIGKILL", () => {
  it("answers a trigger stored before the crash exactly once after restart", async () => {
    dir = mkdtempSync(path.join(tmpdir(), "nestbox-crash-"));
    const first = startHost({ AGENT: "hang", SEND: "ok" });
    first.child.stdin?.write("file:1|m1|@Andy what time is it?\n");
    await first.waitFor("TURN_STARTED");
    first.child.kill("SIGKILL");
    await exited(first.child);
    expect(deliveries()).toEqual([]);

    const second = startHost({ AGENT: "answer", SEND: "ok" });
    second.child.stdin?.end();
    expect(await exited(second.child)).toBe(0);
    expect(second.stderr()).toContain("EXITED_CLEANLY");
    expect(deliveries()).toEqual([{ chatId: "file:1", text: "answer to @Andy what time is it?" }]);

    const third = startHost({ AGENT: "answer", SEND: "ok" });
    third.child.stdin?.end();
    expect(await exited(third.child)).toBe(0);
    expect(deliveries()).toHaveLength(1);
  });

  it("delivers a reply stored before the crash exactly once, without re-running the turn", async () => {
    dir = mkdtempSync(path.join(tmpdir(), "nestbox-crash-"));
    const first = startHost({ AGENT: "answer", SEND: "hang" });
    first.child.stdin?.write("file:1|m1|@Andy hello\n");
    await first.waitFor("SENDING");
    first.child.kill("SIGKILL");
    await exited(first.child);
    expect(deliveries()).toEqual([]);

    const second = startHost({ AGENT: "hang", SEND: "ok" });
    second.child.stdin?.end();
    expect(await exited(second.child)).toBe(0);
    expect(second.stderr()).not.toContain("TURN_STARTED");
    expect(deliveries()).toEqual([{ chatId: "file:1", text: "answer to @Andy hello" }]);
  });
});
