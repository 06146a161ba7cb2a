import { describe, expect, it } from "vitest";
import { isValidFolder } from "../../registration/chat.js";
import { chatIdReply, shellQuote, suggestFolder } from "./chatid.js";

describe("suggestFolder", () => {
  it.each([
    ["Family Chat", "family-chat"],
    ["Café Ünïcode", "cafe-unicode"],
    ["  --Team__2024!! ", "team__2024"],
    ["🎉🎉", "tg-100123"],
    ["x".repeat(80), "x".repeat(64)],
    ["Global", "tg-100123"],
    ["  GLOBAL!! ", "tg-100123"],
    ["Global Team", "global-team"],
  ])("%s -> %s", (name, folder) => {
    expect(suggestFolder(name, -100123)).toBe(folder);
    expect(isValidFolder(folder)).toBe(true);
  });
});

describe("chatIdReply", () => {
  it("quotes the name so the command pastes safely", () => {
    expect(shellQuote('a "b" $HOME `x` \\')).toBe('"a \\"b\\" \\$HOME \\`x\\` \\\\"');
  });

  it("tells a group how to register and trigger", () => {
    const text = chatIdReply({
      chatId: -100123,
      chatName: "Team",
      isPrivate: false,
      assistantName: "Andy",
      botUsername: "nb_bot",
    });
    expect(text).toContain("tg:-100123");
    expect(text).toContain(
      'npm run setup -- register --channel telegram --jid tg:-100123 --name "Team" --folder team',
    );
    expect(text).toContain("@Andy");
    expect(text).toContain("@nb_bot");
  });
});
