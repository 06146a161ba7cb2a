// Issue 8, "agents' network": from inside real agent containers (docker exec as the agent's user, which
// is what the agent's bash tool runs as), an agent must reach neither another agent nor any other
// container, must still reach the credential proxy, and its token must be bound to its own address.
import { execFile, execFileSync } from "node:child_process";
import net, { type AddressInfo } from "node:net";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { agentUser } from "../../src/agents/agent-user.js";
import { type AgentHarness, startAgentHarness } from "./agent-harness.js";
import { CONNECT, startOutsideHost } from "./outside-host.js";
import { BASE_IMAGE, describeDocker } from "./support.js";

const UID = agentUser();
const TEST_LABEL = "nestbox.test=attacks-network";

/** POSTs a chat completion to argv url with argv token (no outbound proxy); prints the HTTP status. */
const POST = `const [url, token] = process.argv.slice(1);
const req = require("http").request(url, { method: "POST", headers: { authorization: "Bearer " + token,
  "content-type": "application/json" } }, (res) => { res.resume(); res.on("end", () => console.log("HTTP " + res.statusCode)); });
req.on("error", (e) => console.log("ERR " + e.code));
req.end(JSON.stringify({ model: "scripted", messages: [{ role: "user", content: "hi" }] }));`;

const docker = (...args: string[]) => execFileSync("docker", args, { encoding: "utf8" }).trim();
/** Runs node as the agent's user inside a container; async, so this process's proxy keeps answering. */
const nodeIn = async (id: string, script: string, ...args: string[]) =>
  (
    await promisify(execFile)("docker", ["exec", "-u", UID, id, "node", "-e", script, ...args], {
      encoding: "utf8",
      timeout: 20_000,
    })
  ).stdout.trim();
const blocked = ["TIMEOUT", "REFUSED", "ERR EHOSTUNREACH", "ERR ENETUNREACH"];

/** Connects from this process (the host); resolves with what the server said. */
function hostConnect(host: string, port: number, ms = 15_000): Promise<string> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const once = () => {
      let got = "";
      const s = net.connect(port, host);
      s.on("data", (d) => (got += d.toString()));
      s.on("end", () => resolve(got));
      s.on("error", () =>
        Date.now() > deadline ? reject(new Error(`${host}:${port} never up`)) : setTimeout(once, 200),
      );
    };
    once();
  });
}

const respond = (req: { messages: unknown[] }) => {
  const said = JSON.stringify(req.messages);
  const cmd = /RUN:([a-z -]+)/.exec(said)?.[1];
  if (cmd && !said.includes("tool_call_id"))
    return { toolCall: { name: "bash", arguments: { command: cmd } } };
  return { text: `done ${said.length}` };
};

describeDocker("attacks: the agents' network (open)", () => {
  let h: AgentHarness;
  let a: { id: string; ip: string };
  let b: { id: string; ip: string };
  let decoy: { id: string; ip: string };
  const listenOnB = "require('net').createServer((s) => s.end('from-B')).listen(9999)";

  beforeAll(async () => {
    h = await startAgentHarness({
      respond,
      chats: [
        { chatId: "local:alpha", folder: "alpha" },
        { chatId: "local:beta", folder: "beta" },
      ],
    });
    // Both agents answer on the new network (the bash tool runs, the model is reached through the proxy).
    expect(await h.ask("local:alpha", "RUN:echo alpha")).toEqual([expect.stringMatching(/^done/)]);
    expect(await h.ask("local:beta", "RUN:echo beta")).toEqual([expect.stringMatching(/^done/)]);
    const on = async (folder: string) => {
      const [c] = await h.containersOf(folder);
      if (!c) throw new Error(`no running container for ${folder}`);
      return { id: c.id, ip: (await h.docker.containerAddress(c.id, h.network)) ?? "" };
    };
    a = await on("alpha");
    b = await on("beta");
    docker("exec", "-d", "-u", UID, b.id, "node", "-e", listenOnB);
    const decoyId = docker(
      ...["run", "-d", "--rm", "--label", TEST_LABEL, "--entrypoint", "node", BASE_IMAGE, "-e"],
      "require('net').createServer((s) => s.end('from-decoy')).listen(9999)",
    );
    decoy = {
      id: decoyId,
      ip: docker("inspect", "-f", "{{.NetworkSettings.Networks.bridge.IPAddress}}", decoyId),
    };
  }, 180_000);

  afterAll(async () => {
    if (decoy) docker("rm", "-f", decoy.id);
    await h?.close();
  });

  it("puts agents on the install's own network, with inter-container traffic off", () => {
    const info = JSON.parse(docker("network", "inspect", h.network))[0];
    expect(info.Options["com.docker.network.bridge.enable_icc"]).toBe("false");
    expect(info.Labels["nestbox.install"]).toBe(h.installId);
    expect(
      Object.keys(JSON.parse(docker("inspect", "-f", "{{json .NetworkSettings.Networks}}", a.id))),
    ).toEqual([h.network]);
    expect(a.ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(b.ip).not.toBe(a.ip);
  });

  it("agent A cannot open a TCP connection to agent B (B's listener is up: the host reaches it)", async () => {
    expect(await hostConnect(b.ip, 9999)).toBe("from-B");
    expect(blocked).toContain(await nodeIn(a.id, CONNECT, b.ip, "9999"));
  }, 30_000);

  it("agent A cannot reach a container on the default bridge (which the host reaches)", async () => {
    expect(await hostConnect(decoy.ip, 9999)).toBe("from-decoy");
    expect(blocked).toContain(await nodeIn(a.id, CONNECT, decoy.ip, "9999"));
  }, 30_000);

  it("the credential proxy is reachable from an agent on the gateway, with the agent's own token", async () => {
    const before = h.llm.requests.length;
    const token =
      /NESTBOX_MODEL_TOKEN=([^\0]+)/.exec(docker("exec", a.id, "cat", "/proc/1/environ"))?.[1] ?? "";
    const url = `http://host.docker.internal:${h.proxy.port}/model/chat/completions`;
    expect(await nodeIn(a.id, POST, url, token)).toBe("HTTP 200");
    expect(h.llm.requests.length).toBe(before + 1);
  });

  it("binds each token to its container's address, which is the source address the host sees", async () => {
    const bound = [...h.bindings.values()].sort();
    expect(bound).toEqual([a.ip, b.ip].sort());
    const seen: string[] = [];
    const server = net.createServer((s) => {
      seen.push(s.remoteAddress?.replace(/^::ffff:/, "") ?? "");
      s.end("gw");
    });
    await new Promise<void>((r) => server.listen(0, h.gateway, r));
    try {
      const port = String((server.address() as AddressInfo).port);
      expect(await nodeIn(a.id, CONNECT, "host.docker.internal", port)).toBe("OK gw");
      expect(seen).toEqual([a.ip]);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it("agent A's token used from agent B is refused and forwards nothing", async () => {
    const before = h.llm.requests.length;
    const tokenA =
      /NESTBOX_MODEL_TOKEN=([^\0]+)/.exec(docker("exec", a.id, "cat", "/proc/1/environ"))?.[1] ?? "";
    const url = `http://host.docker.internal:${h.proxy.port}/model/chat/completions`;
    expect(await nodeIn(b.id, POST, url, tokenA)).toMatch(/^HTTP 40[13]$/);
    expect(h.llm.requests.length).toBe(before);
  });

  it("documents what an agent still reaches: host ports on 0.0.0.0 (gateway and default bridge address), not loopback", async () => {
    const open = net.createServer((s) => s.end("host-any"));
    const loop = net.createServer((s) => s.end("host-loopback"));
    await new Promise<void>((r) => open.listen(0, "0.0.0.0", r));
    await new Promise<void>((r) => loop.listen(0, "127.0.0.1", r));
    try {
      const port = String((open.address() as AddressInfo).port);
      expect(await nodeIn(a.id, CONNECT, h.gateway, port)).toBe("OK host-any");
      const bridge = (await h.docker.bridgeGateway()) ?? "";
      expect(bridge).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      expect(await nodeIn(a.id, CONNECT, bridge, port)).toBe("OK host-any");
      expect(blocked).toContain(
        await nodeIn(a.id, CONNECT, h.gateway, String((loop.address() as AddressInfo).port)),
      );
    } finally {
      await new Promise((r) => open.close(r));
      await new Promise((r) => loop.close(r));
    }
  });
});

describeDocker("attacks: the agents' network (AGENT_NETWORK=internal)", () => {
  let h: AgentHarness;
  let open: AgentHarness;
  beforeAll(async () => {
    h = await startAgentHarness({
      respond,
      agentNetwork: "internal",
      chats: [{ chatId: "local:in", folder: "in" }],
    });
    open = await startAgentHarness({ respond, chats: [{ chatId: "local:out", folder: "out" }] });
  }, 180_000);
  afterAll(async () => {
    await h?.close();
    await open?.close();
  });

  const networkExists = (name: string) =>
    docker("network", "ls", "-q", "--filter", `name=^${name}$`, "--filter", "label=nestbox.install") !== "";

  it("still reaches the model through the credential proxy on the gateway, and gets its reply", async () => {
    expect(JSON.parse(docker("network", "inspect", h.network))[0].Internal).toBe(true);
    expect(await h.ask("local:in", "RUN:echo inside")).toEqual([expect.stringMatching(/^done/)]);
    expect(await open.ask("local:out", "RUN:echo outside")).toEqual([expect.stringMatching(/^done/)]);
  }, 120_000);

  // The outside host is a network namespace on this machine, so the test sends nothing off it.
  it("has no egress past the host, where an open agent has it", async () => {
    const outsideHost = await startOutsideHost();
    try {
      const [inside] = await h.containersOf("in");
      const [outside] = await open.containersOf("out");
      if (!inside || !outside) throw new Error("agents not running");
      const port = String(outsideHost.port);
      expect(await hostConnect(outsideHost.address, outsideHost.port)).toBe("outside");
      expect(await nodeIn(outside.id, CONNECT, outsideHost.address, port)).toBe("OK outside");
      expect(blocked).toContain(await nodeIn(inside.id, CONNECT, outsideHost.address, port));
    } finally {
      outsideHost.close();
    }
  }, 30_000);

  it("gives the install's network back when it closes (the daemon's pool of bridge subnets is small)", async () => {
    expect(networkExists(open.network)).toBe(true);
    await open.close();
    expect(networkExists(open.network)).toBe(false);
    expect(networkExists(h.network)).toBe(true);
  });
});
