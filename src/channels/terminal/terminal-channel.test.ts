import { PassThrough } from "node:stream";
import { expect, it } from "vitest";
import { channelContract } from "../../../test/contracts/channel-contract.js";
import { createTerminalAdapter } from "./index.js";

function harness() {
  const input = new PassThrough();
  const output = new PassThrough();
  let printed = "";
  output.on("data", (d: Buffer) => {
    printed += d.toString();
  });
  const channel = createTerminalAdapter({ input, output, assistantName: "Andy" });
  return { input, output, channel, printed: () => printed };
}

channelContract("terminal", async () => {
  const h = harness();
  return {
    channel: h.channel,
    chatId: "local:console",
    foreignChatId: "tg:12345",
    deliverInbound: async (text) => {
      h.input.write(`${text}\n`);
    },
    sentTexts: async () =>
      h
        .printed()
        .split(/^Andy: /m)
        .filter((s) => s !== "")
        .map((s) => s.replace(/\n$/, "")),
    close: async () => {
      h.input.end();
    },
  };
});

it("reports the end of piped input after handing on every line", async () => {
  const h = harness();
  const seen: string[] = [];
  h.channel.onInbound(async (m) => {
    await new Promise((r) => setTimeout(r, 5));
    seen.push(m.text);
  });
  const ended = new Promise<string[]>((resolve) => h.channel.onInputEnd(() => resolve([...seen])));
  await h.channel.start();
  h.input.end("first\n\nsecond\nthird");
  expect(await ended).toEqual(["first", "second", "third"]);
});

it("prints replies prefixed with the assistant's name", async () => {
  const h = harness();
  await h.channel.start();
  await h.channel.send("local:console", "hello there");
  expect(h.printed()).toBe("Andy: hello there\n");
});
