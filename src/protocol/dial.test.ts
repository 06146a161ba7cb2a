import { describe, expect, it } from "vitest";
import { LineSplitter, lineSeq, parseHandshake, ReplayBuffer } from "./dial.js";

const sealed = (seq: number, body = "x") => `${seq} ${"a".repeat(64)} ${body}\n`;

describe("dial wire: handshake lines, line splitting, the replay buffer", () => {
  it("parses the handshake lines and nothing else", () => {
    const hex = "ab".repeat(32);
    expect(parseHandshake(`hello ${hex}`)).toEqual({ kind: "hello", token: hex });
    expect(parseHandshake(`resume ${hex} 12`)).toEqual({ kind: "resume", secret: hex, seq: 12 });
    expect(parseHandshake(`resumed 0 ${hex}`)).toEqual({ kind: "resumed", seq: 0, secret: hex });
    expect(parseHandshake("refused busy")).toEqual({ kind: "refused", reason: "busy" });
    for (const bad of [
      `hello ${hex} x`,
      "hello 123",
      `resume ${hex} -1`,
      `resume ${hex} 01`,
      "",
      sealed(1),
    ]) {
      expect(parseHandshake(bad)).toBeNull();
    }
    expect(lineSeq(sealed(42))).toBe(42);
    expect(lineSeq("hello")).toBeNull();
  });

  it("splits chunks into whole lines and drops a line over the cap without holding it", () => {
    const s = new LineSplitter(10);
    expect(s.push(Buffer.from("ab\ncd"))).toEqual(["ab\n"]);
    expect(s.push(Buffer.from("e\n"))).toEqual(["cde\n"]);
    expect(s.push(Buffer.from("0123456789abc"))).toEqual([]);
    expect(s.push(Buffer.from("more\nok\n"))).toEqual(["ok\n"]);
    expect(s.dropped).toBe(1);
    s.push(Buffer.from("partial"));
    s.discardPartial();
    expect(s.push(Buffer.from("x\n"))).toEqual(["x\n"]);
  });

  it("serves the lines after a sequence number, and refuses what it no longer holds", () => {
    const b = new ReplayBuffer(3 * sealed(1).length);
    b.push(sealed(1) + sealed(2));
    b.push(sealed(3));
    expect(b.since(1)).toBe(sealed(2) + sealed(3));
    expect(b.since(3)).toBe("");
    expect(b.since(4)).toBeNull(); // the peer claims a line never sent
    b.push(sealed(4));
    expect(b.last).toBe(4);
    expect(b.since(0)).toBeNull(); // line 1 was dropped to stay within the cap
    expect(b.since(1)).toBe(sealed(2) + sealed(3) + sealed(4));
    b.push("not sealed\n");
    expect(b.since(3)).toBe(sealed(4));
  });
});
