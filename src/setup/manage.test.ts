import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeChat } from "../../test/doubles/chat.js";
import { captureIO } from "../../test/doubles/command-io.js";
import { registerChat } from "../registration/register-chat.js";
import { Store } from "../store/index.js";
import { runSetup } from "./cli.js";

let cwd: string;
let dataDir: string;
beforeEach(() => {
  cwd = mkdtempSync(path.join(tmpdir(), "nestbox-manage-"));
  // Not the default ./data: every message must name this folder.
  dataDir = path.join(mkdtempSync(path.join(tmpdir(), "nestbox-manage-data-")), "state");
});
afterEach(() => {
  rmSync(cwd, { recursive: true, force: true });
  rmSync(path.dirname(dataDir), { recursive: true, force: true });
});

async function setup(...argv: string[]) {
  const { io, out } = captureIO({ ASSISTANT_NAME: "Andy", NESTBOX_DATA_DIR: dataDir }, cwd);
  const code = await runSetup(argv, io);
  return { code, ...out() };
}

const family = makeChat({ chatId: "tg:-100", folder: "family", name: "Family" });
const me = makeChat({ chatId: "tg:42", folder: "me", name: "Me", isMain: true, requiresTrigger: false });

function seed(): void {
  registerChat(dataDir, { assistantName: "Andy", chat: family });
  registerChat(dataDir, { assistantName: "Andy", chat: me });
  const store = Store.open(dataDir);
  for (const chatId of [family.chatId, me.chatId]) {
    store.messages.insert(
      "telegram",
      {
        chatId,
        messageId: "1",
        senderId: "u",
        senderName: "U",
        text: "hi",
        timestamp: 1,
        fromMe: false,
        mentionsAssistant: false,
      },
      true,
      1,
    );
    store.commitReply(chatId, null, "hello", 1, 2);
    store.sessions.set(chatId, "s-1", 2);
  }
  store.close();
  mkdirSync(path.join(dataDir, "sessions", "family"), { recursive: true });
  writeFileSync(path.join(dataDir, "groups", "family", "notes.md"), "kept\n");
}

function inStore<T>(fn: (s: Store) => T): T {
  const store = Store.open(dataDir);
  try {
    return fn(store);
  } finally {
    store.close();
  }
}

describe("setup unregister", () => {
  it("removes the registration and keeps the chat's folder and messages, naming where they are", async () => {
    seed();
    const r = await setup("unregister", "tg:-100");
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(r.stdout).toContain(`Unregistered tg:-100 "Family"`);
    expect(r.stdout).toContain(path.join(dataDir, "groups", "family"));
    expect(inStore((s) => s.chats.get("tg:-100"))).toBeNull();
    expect(inStore((s) => s.messages.count("tg:-100"))).toBe(1);
    expect(existsSync(path.join(dataDir, "groups", "family", "notes.md"))).toBe(true);
    // The folder is free to register again, with the chat's memory still there.
    expect(inStore((s) => s.chats.get("tg:42"))).not.toBeNull();
  });

  it("--purge also deletes its folder, sessions, messages, turns and replies; other chats keep theirs", async () => {
    seed();
    const r = await setup("unregister", "tg:-100", "--purge", "--json");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, chat: { chatId: "tg:-100" }, purged: true });
    expect(existsSync(path.join(dataDir, "groups", "family"))).toBe(false);
    expect(existsSync(path.join(dataDir, "sessions", "family"))).toBe(false);
    expect(inStore((s) => [s.messages.count("tg:-100"), s.outbox.list("tg:-100").length])).toEqual([0, 0]);
    expect(inStore((s) => s.sessions.get("tg:-100"))).toBeNull();
    expect(inStore((s) => [s.messages.count("tg:42"), s.outbox.list("tg:42").length])).toEqual([1, 1]);
    expect(existsSync(path.join(dataDir, "groups", "me"))).toBe(true);
  });

  it("refuses the main chat unless --force", async () => {
    seed();
    const r = await setup("unregister", "tg:42");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/tg:42 is the main chat.*--force/);
    expect(inStore((s) => s.chats.get("tg:42"))).not.toBeNull();
    expect((await setup("unregister", "tg:42", "--force")).code).toBe(0);
    expect(inStore((s) => s.chats.main())).toBeNull();
  });

  it("says which chats exist when the chat is not registered; needs exactly one chat id", async () => {
    seed();
    const r = await setup("unregister", "tg:7");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/tg:7 is not registered/);
    expect((await setup("unregister")).code).toBe(2);
    expect((await setup("unregister", "tg:-100", "tg:42")).code).toBe(2);
    expect((await setup("unregister", "tg:-100", "--bogus")).code).toBe(2);
  });
});

describe("setup edit", () => {
  it("changes name, trigger, requires-trigger and limits, through the one chat schema", async () => {
    seed();
    const r = await setup(
      "edit",
      "tg:-100",
      "--name",
      "Family & friends",
      "--trigger",
      "@Bob",
      "--requires-trigger",
      "false",
      "--cpus",
      "2",
      "--memory-mb",
      "512",
    );
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(r.stdout).toContain("Updated tg:-100");
    expect(inStore((s) => s.chats.get("tg:-100"))).toMatchObject({
      name: "Family & friends",
      trigger: "@Bob",
      requiresTrigger: false,
      limits: { cpus: 2, memoryMb: 512 },
      folder: "family",
    });
    expect((await setup("edit", "tg:-100", "--cpus", "default", "--requires-trigger", "true")).code).toBe(0);
    expect(inStore((s) => s.chats.get("tg:-100"))).toMatchObject({
      requiresTrigger: true,
      limits: { memoryMb: 512 },
    });
    await setup("edit", "tg:-100", "--memory-mb", "default");
    expect(inStore((s) => s.chats.get("tg:-100")?.limits)).toBeNull();
  });

  it("refuses a bad value naming the flag, and changes nothing", async () => {
    seed();
    const before = inStore((s) => s.chats.get("tg:-100"));
    const bad = await setup("edit", "tg:-100", "--name", "Ok", "--trigger", "two words");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--trigger "two words" is not allowed: use one word/);
    const cpus = await setup("edit", "tg:-100", "--cpus", "lots");
    expect(cpus.stderr).toMatch(/--cpus "lots" is out of range/);
    const flag = await setup("edit", "tg:-100", "--requires-trigger", "maybe");
    expect(flag.stderr).toMatch(/--requires-trigger must be true or false/);
    expect((await setup("edit", "tg:-100")).stderr).toMatch(/nothing to change/);
    expect(inStore((s) => s.chats.get("tg:-100"))).toEqual(before);
  });

  it("says when the chat is not registered", async () => {
    seed();
    const r = await setup("edit", "tg:7", "--name", "X");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/tg:7 is not registered/);
  });
});

describe("messages name the real data folder", () => {
  it("register says where the chat's folder is", async () => {
    const r = await setup(
      "register",
      ...["--channel", "telegram", "--jid", "tg:-5", "--name", "X", "--folder", "x"],
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`in ${path.join(dataDir, "groups", "x")}/`);
  });

  it("a folder that exists already is named with its real path", async () => {
    mkdirSync(path.join(dataDir, "groups", "taken"), { recursive: true });
    const r = await setup(
      "register",
      ...["--channel", "telegram", "--jid", "tg:-6", "--name", "X", "--folder", "taken"],
    );
    expect(r.stderr).toContain(`${path.join(dataDir, "groups", "taken")} already exists`);
  });
});

it("register's missing --folder hint names the real groups folder", async () => {
  const r = await setup("register", "--channel", "telegram", "--jid", "tg:-5", "--name", "X");
  expect(r.code).toBe(2);
  expect(r.stderr).toContain(`a folder name under ${path.join(dataDir, "groups")}/`);
});
