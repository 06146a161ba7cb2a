import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { captureLog } from "../../test/doubles/capture-log.js";
import { createTerminalAdapter } from "../channels/terminal/index.js";
import { type StopSignal, waitForStop } from "./stop.js";

function terminal() {
  const input = new PassThrough();
  const output = new PassThrough();
  let printed = "";
  output.on("data", (d: Buffer) => {
    printed += d.toString();
  });
  const channel = createTerminalAdapter({ input, output, assistantName: "Andy" });
  return { input, channel, printed: () => printed };
}

function signal() {
  let send: (s: StopSignal) => void = () => {};
  const promise = new Promise<StopSignal>((resolve) => {
    send = resolve;
  });
  return { promise, send };
}

const settled = <T>(p: Promise<T>) =>
  Promise.race([p.then((v) => ({ v })), new Promise((r) => setTimeout(() => r("pending"), 50))]);

describe("waitForStop: what ends a run", () => {
  it("the terminal alone: its input ending stops the host, with a line saying why", async () => {
    const t = terminal();
    const logs = captureLog();
    const stop = signal();
    const why = waitForStop({
      terminal: t.channel,
      otherChannels: [],
      stopSignal: stop.promise,
      log: logs.log,
    });
    await t.channel.start();
    t.input.end();
    expect(await why).toBe("eof");
    expect(logs.lines.map((l) => l.msg)).toEqual([
      "terminal input ended: answering what is left, then stopping",
    ]);
  });

  it("with Telegram: input ending (stdin at /dev/null) closes only the terminal; a signal stops the host", async () => {
    const t = terminal();
    const logs = captureLog();
    const stop = signal();
    const why = waitForStop({
      terminal: t.channel,
      otherChannels: ["telegram"],
      stopSignal: stop.promise,
      log: logs.log,
    });
    await t.channel.start();
    t.input.end();
    expect(await settled(why)).toBe("pending");
    expect(logs.lines.map((l) => l.msg)).toEqual([
      "terminal input ended: the terminal chat is closed; telegram keeps running until a signal stops the host",
    ]);
    stop.send("SIGHUP");
    expect(await why).toBe("SIGHUP");
  });

  it("no terminal (--no-terminal): only a signal ends it", async () => {
    const stop = signal();
    const why = waitForStop({
      terminal: null,
      otherChannels: [],
      stopSignal: stop.promise,
      log: captureLog().log,
    });
    expect(await settled(why)).toBe("pending");
    stop.send("SIGTERM");
    expect(await why).toBe("SIGTERM");
  });
});
