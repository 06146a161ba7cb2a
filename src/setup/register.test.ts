import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { captureIO } from "../../test/doubles/command-io.js";
import { suggestFolder } from "../channels/telegram/chatid.js";
import { runSetup } from "./cli.js";

let cwd: string;
beforeEach(() => {
  cwd = mkdtempSync(path.join(tmpdir(), "nestbox-setup-"));
});
afterEach(() => rmSync(cwd, { recursive: true, force: true }));

async function setup(...argv: string[]) {
  const { io, out } = captureIO({ ASSISTANT_NAME: "Andy" }, cwd);
  const code = await runSetup(argv, io);
  return { code, ...out() };
}

const dataFiles = () =>
  existsSync(path.join(cwd, "data")) ? readdirSync(path.join(cwd, "data"), { recursive: true }) : [];
const good = ["--channel", "telegram", "--jid", "tg:-1001234", "--name", "Family", "--folder", "family"];

describe("setup register", () => {
  it("registers a chat: row, folder and AGENTS.md naming the assistant", async () => {
    const r = await setup("register", ...good);
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(r.stdout).toContain('Registered tg:-1001234 "Family" in data/groups/family/');
    expect(readFileSync(path.join(cwd, "data/groups/family/AGENTS.md"), "utf8")).toContain("You are Andy");
    const list = await setup("chats", "--json");
    expect(JSON.parse(list.stdout)).toEqual([
      expect.objectContaining({
        chatId: "tg:-1001234",
        folder: "family",
        trigger: "@Andy",
        requiresTrigger: true,
        isMain: false,
      }),
    ]);
  });

  it("accepts the folder /chatid suggests, also for a group named Global", async () => {
    const folder = suggestFolder("Global", -1001234);
    const r = await setup(
      "register",
      "--channel",
      "telegram",
      "--jid",
      "tg:-1001234",
      "--name",
      "Global",
      "--folder",
      folder,
    );
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(existsSync(path.join(cwd, "data/groups", folder, "AGENTS.md"))).toBe(true);
  });

  it("also takes --step register, --assistant-name, --no-trigger-required and --is-main", async () => {
    const r = await setup(
      "--step",
      "register",
      "--channel",
      "whatsapp",
      "--jid",
      "491701234567@s.whatsapp.net",
      "--name",
      "Me",
      "--folder",
      "me",
      "--assistant-name",
      "Bob",
      "--is-main",
      "--no-trigger-required",
      "--json",
    );
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).chat).toMatchObject({
      trigger: "@Bob",
      isMain: true,
      requiresTrigger: false,
    });
    expect(readFileSync(path.join(cwd, "data/groups/me/AGENTS.md"), "utf8")).toContain("You are Bob");
  });

  it.each([
    [
      ["--channel", "telegram", "--jid", "tg:1", "--name", "x", "--folder", "../x"],
      /--folder "\.\.\/x" is not allowed/,
    ],
    [
      ["--channel", "telegram", "--jid", "tg:1", "--name", "x", "--folder", "/etc"],
      /--folder "\/etc" is not allowed/,
    ],
    [
      ["--channel", "telegram", "--jid", "tg:1", "--name", "x", "--folder", "a/b"],
      /--folder "a\/b" is not allowed/,
    ],
    [
      ["--channel", "telegram", "--jid", "tg:1", "--name", "x", "--folder", "Family"],
      /--folder "Family" is not allowed/,
    ],
    [
      ["--channel", "telegram", "--jid", "tg:1", "--name", "x", "--folder", "global"],
      /--folder "global" is not allowed/,
    ],
    [["--channel", "telegram", "--jid", "tg:1", "--name", "x", "--folder", "a".repeat(65)], /is not allowed/],
    [
      ["--channel", "telegram", "--jid", "12345", "--name", "x", "--folder", "x"],
      /--jid "12345" is not a telegram chat id: .*tg:/,
    ],
    [
      ["--channel", "whatsapp", "--jid", "tg:1", "--name", "x", "--folder", "x"],
      /--jid "tg:1" is not a whatsapp chat id/,
    ],
    [
      ["--channel", "terminal", "--jid", "console", "--name", "x", "--folder", "x"],
      /--jid "console" is not a terminal chat id/,
    ],
    [
      ["--channel", "signal", "--jid", "tg:1", "--name", "x", "--folder", "x"],
      /--channel "signal" is not a channel/,
    ],
    [["--jid", "tg:1", "--name", "x", "--folder", "x"], /--channel is required/],
    [["--channel", "telegram", "--name", "x", "--folder", "x"], /--jid is required/],
    [["--channel", "telegram", "--jid", "tg:1", "--folder", "x"], /--name is required/],
    [["--channel", "telegram", "--jid", "tg:1", "--name", "x"], /--folder is required/],
    [
      ["--channel", "telegram", "--jid", "tg:1", "--name", "x", "--folder", "x", "--trigger", "hey you"],
      /--trigger "hey you" is not allowed/,
    ],
    [
      ["--channel", "telegram", "--jid", "tg:1", "--name", "x", "--folder", "x", "--assistant-name", "A B"],
      /--assistant-name "A B" is not allowed/,
    ],
    [
      ["--channel", "telegram", "--jid", "tg:1", "--name", "x", "--folder", "x", "--bogus"],
      /unknown flag --bogus: "setup register" takes --channel <value>, /,
    ],
  ])("refuses %j with one line naming the flag, writing nothing", async (argv, message) => {
    const r = await setup("register", ...(argv as string[]));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/^error: /);
    expect(dataFiles()).toEqual([]);
  });

  it("refuses a duplicate chat id, a taken folder and a second main chat, writing nothing", async () => {
    expect((await setup("register", ...good, "--is-main")).code).toBe(0);
    const before = dataFiles().sort();
    const dupJid = await setup(
      "register",
      "--channel",
      "telegram",
      "--jid",
      "tg:-1001234",
      "--name",
      "F2",
      "--folder",
      "family2",
    );
    expect(dupJid.stderr).toMatch(/--jid tg:-1001234 is already registered/);
    const dupFolder = await setup(
      "register",
      "--channel",
      "telegram",
      "--jid",
      "tg:-1009",
      "--name",
      "F2",
      "--folder",
      "family",
    );
    expect(dupFolder.stderr).toMatch(/--folder "family" is already used by tg:-1001234/);
    const secondMain = await setup(
      "register",
      "--channel",
      "telegram",
      "--jid",
      "tg:-1009",
      "--name",
      "F2",
      "--folder",
      "f2",
      "--is-main",
    );
    expect(secondMain.stderr).toMatch(/--is-main: tg:-1001234 is already the main chat/);
    for (const r of [dupJid, dupFolder, secondMain]) expect(r.code).toBe(2);
    expect(dataFiles().sort()).toEqual(before);
    expect(JSON.parse((await setup("chats", "--json")).stdout)).toHaveLength(1);
  });

  it("stores per-chat limits", async () => {
    const r = await setup("register", ...good, "--memory-mb", "512", "--cpus", "0.5", "--json");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).chat).toMatchObject({
      limits: { memoryMb: 512, cpus: 0.5 },
      extraMounts: [],
    });
  });

  it.each([
    [["--memory-mb", "12"], /--memory-mb "12" is out of range/],
    [["--cpus", "lots"], /--cpus "lots" is out of range/],
    [["--pids", "1.5"], /--pids "1.5" is out of range: use a whole number/],
  ])("refuses limits %j, writing nothing", async (extra, message) => {
    const r = await setup("register", ...good, ...(extra as string[]));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(dataFiles()).toEqual([]);
  });

  it("reports errors as JSON with --json", async () => {
    const r = await setup("register", "--channel", "telegram", "--json");
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({
      ok: false,
      code: "USAGE",
      error: expect.stringContaining("--jid is required"),
    });
  });

  it("lists chats for people, and says how to register when there are none", async () => {
    expect((await setup("chats")).stdout).toContain("No chats registered yet");
    await setup("register", ...good);
    const r = await setup("chats");
    expect(r.stdout).toMatch(/CHAT ID\s+NAME\s+FOLDER\s+TRIGGER/);
    expect(r.stdout).toMatch(/tg:-1001234\s+Family\s+family\s+@Andy/);
  });

  it("rejects an unknown step with the list of steps", async () => {
    const r = await setup("frobnicate");
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown setup step "frobnicate": use one of register, chats/);
  });
});
