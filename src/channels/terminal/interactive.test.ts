import { PassThrough } from "node:stream";
import { afterEach, expect, it } from "vitest";
import { Screen } from "../../../test/doubles/screen.js";
import type { InboundMessage } from "../channel.js";
import { createTerminalAdapter, type TerminalAdapter } from "./index.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const open: TerminalAdapter[] = [];
afterEach(async () => {
  for (const c of open.splice(0)) await c.stop();
});

async function terminal() {
  const input = new PassThrough();
  const output = new PassThrough();
  const screen = new Screen();
  output.on("data", (d: Buffer) => screen.write(d.toString()));
  let interrupted = 0;
  const channel = createTerminalAdapter({
    input,
    output,
    assistantName: "Andy",
    interactive: true,
    onInterrupt: () => interrupted++,
  });
  open.push(channel);
  const received: InboundMessage[] = [];
  channel.onInbound(async (m) => {
    received.push(m);
  });
  await channel.start();
  // Keys as a person types them: one write per key, Enter is CR.
  const type = async (text: string) => {
    for (const ch of text) {
      input.write(ch);
      await sleep(2);
    }
    await sleep(60);
  };
  return {
    input,
    channel,
    screen,
    received,
    type,
    interrupted: () => interrupted,
    shown: async () => {
      await sleep(10);
      return screen.text();
    },
  };
}

it("shows a thinking line while a turn runs and replaces it with the reply", async () => {
  const t = await terminal();
  await t.type("hello\r");
  expect(t.received.map((m) => m.text)).toEqual(["hello"]);
  await t.channel.setTyping("local:console", true);
  expect(await t.shown()).toEqual(["> hello", "Andy is thinking...", ">"]);
  await t.channel.send("local:console", "hi there");
  await t.channel.setTyping("local:console", false);
  expect(await t.shown()).toEqual(["> hello", "Andy: hi there", ">"]);
});

it("a reply arriving while you type keeps the typed text on the prompt line", async () => {
  const t = await terminal();
  await t.type("partly typ");
  await t.channel.setTyping("local:console", true);
  expect(await t.shown()).toEqual(["Andy is thinking...", "> partly typ"]);
  await t.channel.send("local:console", "a reply\nover two lines");
  await t.channel.setTyping("local:console", false);
  expect(await t.shown()).toEqual(["Andy: a reply", "over two lines", "> partly typ"]);
  await t.type("ed\r");
  expect(t.received.map((m) => m.text)).toEqual(["partly typed"]);
  expect(await t.shown()).toEqual(["Andy: a reply", "over two lines", "> partly typed", ">"]);
});

it("a thinking line that ends without a reply goes away", async () => {
  const t = await terminal();
  await t.channel.setTyping("local:console", true);
  await t.channel.setTyping("local:console", false);
  expect(await t.shown()).toEqual([">"]);
});

it("a multi-line paste is one message; lines typed apart are separate messages", async () => {
  const t = await terminal();
  t.input.write("first line\rsecond line\rthird line");
  await sleep(80);
  expect(t.received.map((m) => m.text)).toEqual(["first line\nsecond line\nthird line"]);
  t.input.write("pasted with\rits own newline\r");
  await sleep(80);
  await t.type("typed\r");
  await t.type("apart\r");
  expect(t.received.map((m) => m.text)).toEqual([
    "first line\nsecond line\nthird line",
    "pasted with\nits own newline",
    "typed",
    "apart",
  ]);
});

it("Ctrl-D on an empty line ends the input at once; Ctrl-C interrupts", async () => {
  const t = await terminal();
  const ended = new Promise<number>((resolve) => t.channel.onInputEnd(() => resolve(Date.now())));
  t.input.write("\x03");
  await sleep(10);
  expect(t.interrupted()).toBe(1);
  const pressed = Date.now();
  t.input.write("\x04");
  expect((await ended) - pressed).toBeLessThan(100);
});

it("a notice (the banner, a log line) goes above the prompt and keeps the typed text", async () => {
  const t = await terminal();
  await t.type("half");
  t.channel.notice("09:12:03 WARN  something happened\n");
  expect(await t.shown()).toEqual(["09:12:03 WARN  something happened", "> half"]);
});

it("a reply in the middle of a turn brings the thinking line back below it until the turn ends", async () => {
  const t = await terminal();
  await t.channel.setTyping("local:console", true);
  await t.channel.send("local:console", "first part");
  expect(await t.shown()).toEqual(["Andy: first part", ">"]);
  await sleep(350);
  expect(await t.shown()).toEqual(["Andy: first part", "Andy is thinking...", ">"]);
  await t.channel.send("local:console", "second part");
  await t.channel.setTyping("local:console", false);
  await sleep(350);
  expect(await t.shown()).toEqual(["Andy: first part", "Andy: second part", ">"]);
});

it("a bracketed paste is one message however slowly it arrives (a paste over a slow SSH link)", async () => {
  const t = await terminal();
  t.input.write("\x1b[200~one\rtwo");
  await sleep(120);
  t.input.write("\rthree\x1b[201~");
  await sleep(80);
  expect(t.received.map((m) => m.text)).toEqual(["one\ntwo\nthree"]);
  expect(await t.shown()).toEqual(["> one", "two", "three", ">"]);
});
