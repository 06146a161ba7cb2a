import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, expect, it } from "vitest";
import { makeChat } from "../../test/doubles/chat.js";
import { chatProblems } from "./chat-schema.js";
import { registerChat } from "./register-chat.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

it("names every problem of a chat by its field, with what to use instead", () => {
  expect(chatProblems(makeChat())).toEqual([]);
  expect(
    chatProblems(
      makeChat({ chatId: "tg:abc", folder: "global", trigger: "a b", limits: { cpus: 500 }, name: "a\nb" }),
    ),
  ).toEqual([
    { field: "name", message: expect.stringMatching(/^must be one line of text/) },
    { field: "folder", message: expect.stringMatching(/^"global" is not allowed/) },
    { field: "trigger", message: expect.stringMatching(/^"a b" is not allowed: use one word/) },
    { field: "limits.cpus", message: '"500" is out of range: use a number from 0.1 to 256' },
    {
      field: "chatId",
      message: expect.stringMatching(/^"tg:abc" is not a telegram chat id: Telegram chat ids/),
    },
  ]);
});

it("is applied by registerChat itself, whoever calls it, and nothing is written on a refusal", () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), "nestbox-schema-"));
  dirs.push(dataDir);
  expect(() =>
    registerChat(dataDir, { assistantName: "Andy", chat: makeChat({ chatId: "tg:x", folder: "fam" }) }),
  ).toThrow(/cannot register tg:x: chatId "tg:x" is not a telegram chat id/);
  expect(existsSync(path.join(dataDir, "groups", "fam"))).toBe(false);
  expect(existsSync(path.join(dataDir, "nestbox.db"))).toBe(false);
});
