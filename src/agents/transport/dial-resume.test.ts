import { describe, expect, it } from "vitest";
import { dialHost } from "../../../container/agent-runner/src/dial.js";
import { captureLog } from "../../../test/doubles/capture-log.js";
import { dialServers, rawPeer } from "../../../test/doubles/dial-peers.js";
import { waitFor } from "../../../test/wait.js";
import { FrameOpener, FrameSealer, type FrameSide } from "../../protocol/index.js";

const started = dialServers();

/** Every line received, opened as the protocol does: the frame numbers in arrival order, and any rejection. */
function receiver(key: string, from: FrameSide) {
  const opener = new FrameOpener(key, from);
  const got: number[] = [];
  const rejected: string[] = [];
  let buf = "";
  return {
    got,
    rejected,
    push: (chunk: Buffer) => {
      buf += chunk.toString();
      for (let nl = buf.indexOf("\n"); nl !== -1; nl = buf.indexOf("\n")) {
        const r = opener.open(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        if (r.ok) got.push((JSON.parse(r.json) as { n: number }).n);
        else rejected.push(r.reason);
      }
    },
  };
}

const tick = () => new Promise((r) => setImmediate(r));

describe("DialServer resume: a dropped connection loses and repeats nothing", () => {
  it("the host destroys the socket mid-stream, four times: every frame arrives once, in order, both ways", async () => {
    const { log, lines } = captureLog();
    const { server, open } = await started({ log });
    const { key, link, token } = await open();
    const agent = await dialHost({ address: server.address, token, onLost: () => {} });
    const atHost = receiver(key, "agent");
    const atAgent = receiver(key, "host");
    link.output.on("data", atHost.push);
    agent.input.on("data", atAgent.push);
    const hostSealer = new FrameSealer(key, "host");
    const agentSealer = new FrameSealer(key, "agent");
    const N = 600;
    const pad = "p".repeat(1500);
    for (let n = 1; n <= N; n++) {
      link.write(hostSealer.seal({ n, pad }));
      agent.write(agentSealer.seal({ n, pad }));
      if (n % 150 === 0) link.dropConnection();
      if (n % 10 === 0) await tick();
    }
    const all = Array.from({ length: N }, (_, i) => i + 1);
    await waitFor(() => atHost.got.length >= N && atAgent.got.length >= N, "every frame", 10_000);
    expect(atHost.got).toEqual(all);
    expect(atAgent.got).toEqual(all);
    expect(atHost.rejected).toEqual([]);
    expect(atAgent.rejected).toEqual([]);
    const resumes = lines.filter((l) => l.msg === "agent link resumed");
    expect(resumes).toHaveLength(4);
    // The host resent lines: the drops cut real traffic, not idle moments.
    expect(resumes.reduce((sum, l) => sum + Number(l.resentLines), 0)).toBeGreaterThan(0);
    agent.close();
  });

  it("refuses a resume from another address, and a spent secret; the newest resume with the live secret wins", async () => {
    const { server, open } = await started();
    const { link } = await open();
    const first = rawPeer(server.port);
    first.send(`hello ${link.token}\n`);
    const secret = (await first.firstLine()).split(" ")[2] as string;
    first.socket.destroy();
    await first.gone;

    const stranger = rawPeer(server.port, "127.0.0.2");
    stranger.send(`resume ${secret} 0\n`);
    expect(await stranger.firstLine()).toBe("refused resume from another address");

    const back = rawPeer(server.port);
    back.send(`resume ${secret} 0\n`);
    const resumed = await back.firstLine();
    expect(resumed).toMatch(/^resumed 0 [0-9a-f]{64}$/);
    const next = resumed.split(" ")[2] as string;
    expect(next).not.toBe(secret);

    const replay = rawPeer(server.port);
    replay.send(`resume ${secret} 0\n`);
    expect(await replay.firstLine()).toBe("refused unknown secret");

    const newer = rawPeer(server.port);
    newer.send(`resume ${next} 0\n`);
    expect(await newer.firstLine()).toMatch(/^resumed 0 [0-9a-f]{64}$/);
    await back.gone; // the older connection of the same ticket is closed
    newer.socket.destroy();
  });

  it("a resume the replay buffer cannot serve is refused and the link is lost", async () => {
    const { server, open } = await started();
    const { link } = await open();
    const peer = rawPeer(server.port);
    peer.send(`hello ${link.token}\n`);
    const secret = (await peer.firstLine()).split(" ")[2] as string;
    peer.socket.destroy();
    const liar = rawPeer(server.port);
    liar.send(`resume ${secret} 99\n`);
    expect(await liar.firstLine()).toBe("refused cannot replay");
    expect(await link.lost).toMatch(/cannot be replayed/);
  });

  it("the link is lost when the agent does not come back within the grace", async () => {
    const { server, open } = await started({ resumeGraceMs: 150 });
    const { link } = await open();
    const peer = rawPeer(server.port);
    peer.send(`hello ${link.token}\n`);
    await peer.firstLine();
    const t0 = Date.now();
    peer.socket.destroy();
    expect(await link.lost).toMatch(/did not reconnect within 150 ms/);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    // Its secret died with it.
    const late = rawPeer(server.port);
    late.send(`resume ${"0".repeat(64)} 0\n`);
    expect(await late.firstLine()).toBe("refused unknown secret");
  });

  it("no link is lost before the agent first dials in, nor after the ticket is revoked", async () => {
    const { open } = await started({ resumeGraceMs: 50 });
    const { link, ticket } = await open();
    const settled = await Promise.race([
      link.lost.then(() => "lost"),
      new Promise((r) => setTimeout(() => r("open"), 200)),
    ]);
    expect(settled).toBe("open");
    ticket.revoke();
    const after = await Promise.race([
      link.lost.then(() => "lost"),
      new Promise((r) => setTimeout(() => r("quiet"), 200)),
    ]);
    expect(after).toBe("quiet");
  });
});
