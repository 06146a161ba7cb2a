import { describe, expect, it } from "vitest";
import { dialHost } from "../../../container/agent-runner/src/dial.js";
import { captureLog } from "../../../test/doubles/capture-log.js";
import { dialServers, rawPeer, sleep } from "../../../test/doubles/dial-peers.js";
import { waitFor } from "../../../test/wait.js";
import { MAX_LINE_BYTES } from "../../protocol/index.js";

const started = dialServers();

describe("DialServer handshake: single-use tokens, refusals, limits", () => {
  it("gives the container an address and a token; the runner's hello gets the frame key, then lines flow both ways", async () => {
    const { server, open } = await started();
    const { key, ticket, link, token } = await open();
    expect(ticket.env.NESTBOX_DIAL_ADDRESS).toBe(`127.0.0.1:${server.port}`);
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    expect(token).not.toBe(key);
    const agent = await dialHost({ address: server.address, token, onLost: () => {} });
    expect(agent.key).toBe(key);
    expect(link.remoteAddress).toBe("127.0.0.1");
    let fromHost = "";
    agent.input.on("data", (d: Buffer) => {
      fromHost += d.toString();
    });
    let fromAgent = "";
    link.output.on("data", (d: Buffer) => {
      fromAgent += d.toString();
    });
    agent.write(`1 ${"a".repeat(64)} {"type":"ready"}\n`);
    link.write(`1 ${"b".repeat(64)} {"type":"shutdown"}\n`);
    await waitFor(() => fromHost.includes("shutdown") && fromAgent.includes("ready"), "a line each way");
    agent.close();
  });

  it("host lines written before the agent dials in reach it after the welcome", async () => {
    const { server, open } = await started();
    const { link, token } = await open();
    link.write(`1 ${"c".repeat(64)} {"type":"turn"}\n`);
    const agent = await dialHost({ address: server.address, token, onLost: () => {} });
    let got = "";
    agent.input.on("data", (d: Buffer) => {
      got += d.toString();
    });
    await waitFor(() => got.startsWith("1 "), "the early line");
    agent.close();
  });

  it("spends a token on its first hello: a second hello with it is refused, so is an unknown or revoked token", async () => {
    const { server, open } = await started();
    const first = await open("a");
    const peer = rawPeer(server.port);
    peer.send(`hello ${first.token}\n`);
    expect(await peer.firstLine()).toMatch(/^welcome [0-9a-f]{64} [0-9a-f]{64}$/);

    const again = rawPeer(server.port);
    again.send(`hello ${first.token}\n`);
    expect(await again.firstLine()).toBe("refused unknown token");
    await again.gone;

    const unknown = rawPeer(server.port);
    unknown.send(`hello ${"0".repeat(64)}\n`);
    expect(await unknown.firstLine()).toBe("refused unknown token");

    const second = await open("b");
    second.ticket.revoke();
    const late = rawPeer(server.port);
    late.send(`hello ${second.token}\n`);
    expect(await late.firstLine()).toBe("refused unknown token");

    // The live connection of the first ticket is untouched by all that.
    expect(peer.closed).toBe(false);
    peer.socket.destroy();
  });

  it("revoking a ticket ends its live connection", async () => {
    const { server, open } = await started();
    const { ticket, token } = await open();
    const peer = rawPeer(server.port);
    peer.send(`hello ${token}\n`);
    await peer.firstLine();
    ticket.revoke();
    await peer.gone;
    ticket.revoke(); // idempotent
  });

  it("refuses what is not a handshake line, and a line over the cap, without echoing or logging its content", async () => {
    const { log, text } = captureLog();
    const { server } = await started({ log });
    const junk = rawPeer(server.port);
    junk.send('1 abc {"type":"ready"}\n');
    expect(await junk.firstLine()).toBe("refused bad handshake");
    const long = rawPeer(server.port);
    long.send(`hello ${"x".repeat(300)}`);
    expect(await long.firstLine()).toBe("refused handshake line too long");
    await long.gone;
    expect(text()).not.toContain("xxxxxxxx");
    expect(text()).not.toContain("type");
    expect(server.refusals).toBe(2);
  });

  it("closes a connection that sends no handshake line in time", async () => {
    const { server } = await started({ handshakeTimeoutMs: 150 });
    const loris = rawPeer(server.port);
    loris.send("hel");
    const t0 = Date.now();
    await loris.gone;
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(loris.text).toBe("refused handshake timeout\n");
  });

  it("caps connections in handshake at 64: slow-loris peers do not keep a real agent out", async () => {
    const { server, open } = await started({ handshakeTimeoutMs: 400, maxHandshakesPerAddress: 64 });
    const loris = Array.from({ length: 64 }, () => rawPeer(server.port));
    for (const l of loris) l.send("h");
    await sleep(100);
    const extra = rawPeer(server.port);
    expect(await extra.firstLine()).toBe("refused busy");
    // A real agent arriving now is told "busy", retries, and gets in once the loris peers time out.
    const { key, token } = await open();
    const t0 = Date.now();
    const agent = await dialHost({ address: server.address, token, onLost: () => {}, offlineMs: 5000 });
    expect(agent.key).toBe(key);
    expect(Date.now() - t0).toBeLessThan(3000);
    await Promise.all(loris.map((l) => l.gone));
    agent.close();
  });

  it("caps handshakes per address at 8: a flooding agent keeps only its own address out", async () => {
    const { server, open } = await started({ handshakeTimeoutMs: 5000 });
    const loris = Array.from({ length: 8 }, () => rawPeer(server.port, "127.0.0.2"));
    for (const l of loris) l.send("h");
    await sleep(100);
    const ninth = rawPeer(server.port, "127.0.0.2");
    expect(await ninth.firstLine()).toBe("refused busy");
    // Another address is not held back at all, though the flooder's handshakes are still open.
    const { key, token } = await open();
    const t0 = Date.now();
    const agent = await dialHost({ address: server.address, token, onLost: () => {}, offlineMs: 5000 });
    expect(agent.key).toBe(key);
    expect(Date.now() - t0).toBeLessThan(1000);
    agent.close();
    for (const l of loris) l.socket.destroy();
  });

  it("logs refusals one by one only up to a cap: a flood of bad peers is not a flood of log lines", async () => {
    const { log, lines } = captureLog();
    const { server } = await started({ log });
    const peers = Array.from({ length: 40 }, () => rawPeer(server.port));
    for (const p of peers) p.send("nonsense\n");
    await Promise.all(peers.map((p) => p.gone));
    expect(server.refusals).toBe(40);
    expect(lines.filter((l) => l.msg === "dial connection refused")).toHaveLength(10);
  });

  it("a few slow peers below the cap do not delay a real agent at all", async () => {
    const { server, open } = await started({ handshakeTimeoutMs: 5000 });
    const loris = Array.from({ length: 5 }, () => rawPeer(server.port));
    for (const l of loris) l.send("hello ");
    await sleep(50);
    const { token } = await open();
    const t0 = Date.now();
    const agent = await dialHost({ address: server.address, token, onLost: () => {} });
    expect(Date.now() - t0).toBeLessThan(1000); // the slow peers' handshake timeout is 5 s
    agent.close();
    for (const l of loris) l.socket.destroy();
  });

  it("the runner gives up (onLost) when its host is gone for good", async () => {
    const { server, open } = await started({ resumeGraceMs: 5000 });
    const { token } = await open();
    let lost = "";
    const agent = await dialHost({
      address: server.address,
      token,
      offlineMs: 600,
      onLost: (reason) => {
        lost = reason;
      },
    });
    expect(agent.socket).not.toBeNull();
    await server.close();
    await waitFor(() => lost || undefined, "the runner giving up", 5000);
    expect(lost).toMatch(/cannot resume/);
  });

  it("a runner whose ticket was revoked gives up at once: its resume is refused", async () => {
    const { server, open } = await started();
    const { ticket, token } = await open();
    let lost = "";
    await dialHost({
      address: server.address,
      token,
      onLost: (reason) => {
        lost = reason;
      },
    });
    const t0 = Date.now();
    ticket.revoke();
    await waitFor(() => lost || undefined, "the runner giving up");
    expect(lost).toMatch(/refused: unknown secret/);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it("drops an over-long line from an authenticated agent whole, with one warning, and passes the next", async () => {
    const { log, lines } = captureLog();
    const { server, open } = await started({ log });
    const { link, token } = await open();
    let got = "";
    link.output.on("data", (d: Buffer) => {
      got += d.toString();
    });
    const peer = rawPeer(server.port);
    peer.send(`hello ${token}\n`);
    await peer.firstLine();
    peer.send("x".repeat(MAX_LINE_BYTES + 10));
    peer.send(`\n1 ${"a".repeat(64)} {"type":"ready"}\n`);
    await waitFor(() => got.includes("ready"), "the next line");
    expect(got).toBe(`1 ${"a".repeat(64)} {"type":"ready"}\n`);
    expect(lines.filter((l) => l.msg === "dropped over-long lines from the agent")).toHaveLength(1);
    peer.socket.destroy();
  });

  it("a closed server issues no more tickets", async () => {
    const { server, transport } = await started();
    await server.close();
    expect(() => transport.open("late", "0".repeat(64))).toThrow(/dial server is closed/);
  });

  it("a refused hello makes the runner fail at once (no retry loop)", async () => {
    const { server } = await started();
    await expect(
      dialHost({ address: server.address, token: "f".repeat(64), onLost: () => {} }),
    ).rejects.toMatchObject({ name: "DialRefusedError" });
  });
});
