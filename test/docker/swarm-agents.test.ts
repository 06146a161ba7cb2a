import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { processTree } from "../../scripts/bench/memory.js";
import { agentUser } from "../../src/agents/agent-user.js";
import { chatVolumeNames } from "../../src/containers/chat-volumes.js";
import { DockerRuntime } from "../../src/containers/docker-runtime.js";
import { SWARM_SERVICE_LABEL } from "../../src/containers/labels.js";
import { probeServices } from "../../src/containers/probe.js";
import { SwarmRuntime } from "../../src/containers/swarm/swarm-runtime.js";
import { installIdOf } from "../../src/setup/chats.js";
import { runSetup } from "../../src/setup/cli.js";
import { captureIO } from "../doubles/command-io.js";
import { type LiveProcess, spawnProcess } from "../process.js";
import { waitFor } from "../wait.js";
import { type AgentHarness, startAgentHarness } from "./agent-harness.js";
import { npmStartEnv, useHostFixture } from "./host-fixture.js";
import { CONNECT, startOutsideHost } from "./outside-host.js";
import { AGENT_IMAGE, BASE_IMAGE, describeDocker } from "./support.js";
import { withSwarm } from "./swarm.js";

const root = path.join(import.meta.dirname, "..", "..");

describeDocker("AGENT_RUNTIME=swarm: each chat's agent is a swarm service that dials home", () => {
  withSwarm();
  let h: AgentHarness;
  /** Released by the kill test: the model's first answer of a turn waits on it. */
  let hold: Promise<void> | null = null;
  let requests = 0;
  beforeAll(async () => {
    h = await startAgentHarness({
      runtime: "swarm",
      recordDials: true,
      chats: [
        { chatId: "local:swarm-a", folder: "swarm-a" },
        { chatId: "local:swarm-b", folder: "swarm-b" },
        { chatId: "local:swarm-c", folder: "swarm-c" },
      ],
      respond: async (req) => {
        requests += 1;
        if (hold) await hold;
        const said = JSON.stringify(req.messages);
        if (said.includes("write the proof") && !said.includes("written-by-the-agent")) {
          return {
            toolCall: {
              name: "bash",
              arguments: { command: "echo written-by-the-agent > /workspace/group/proof.txt && id -u" },
            },
          };
        }
        return { text: said.includes("write the proof") ? "Proof written." : "pong" };
      },
    });
  }, 120_000);
  afterAll(async () => {
    await h?.close();
    // Nothing of the install is left: no service, no volume, no network.
    const left = {
      services: (await h.docker.list({ "nestbox.install": h.installId })).map((c) => c.name),
      volumes: (await h.docker.listVolumes({ "nestbox.install": h.installId })).map((v) => v.name),
      containers: (await h.engine.list({ "nestbox.install": h.installId })).map((c) => c.name),
    };
    expect(left).toEqual({ services: [], volumes: [], containers: [] });
  }, 120_000);

  it("answers a message through a service; the agent's file is in the chat's volume, its token bound to its address", async () => {
    expect(await h.ask("local:swarm-a", "please write the proof file")).toEqual(["Proof written."]);
    const services = await h.docker.list({ "nestbox.install": h.installId, "nestbox.folder": "swarm-a" });
    expect(services).toHaveLength(1);
    expect(services[0]?.name).toMatch(new RegExp(`^nestbox-${h.installId}-swarm-a-[0-9a-f]{6}$`));
    expect(services[0]?.labels).toMatchObject({ "nestbox.chat": "local:swarm-a" });
    // The agent runs as the service's task: every container of the install belongs to a service.
    const containers = await h.engine.list({ "nestbox.install": h.installId });
    expect(containers.length).toBeGreaterThan(0);
    expect(containers.every((c) => c.labels[SWARM_SERVICE_LABEL] !== undefined)).toBe(true);
    // The chat's folder is its named volume, not data/groups/<folder>.
    const volume = chatVolumeNames(h.installId, "swarm-a").group;
    const read = await h.engine.run({
      name: `nestbox-swarm-read-${Date.now().toString(36)}`,
      image: BASE_IMAGE,
      labels: {},
      env: {},
      mounts: [],
      volumes: [{ volume, containerPath: "/v", readOnly: true }],
      cmd: ["cat", "/v/proof.txt"],
    });
    expect(read.stdout.trim()).toBe("written-by-the-agent");
    // One node: the credential-proxy token is bound to the task's own address on the agents' bridge.
    const address = await h.docker.containerAddress(services[0]?.id ?? "", h.network);
    expect(address).toMatch(/^10\.\d+\.\d+\.\d+$/);
    expect([...h.bindings.values()]).toContain(address);
  }, 180_000);

  it("the agent image holds no setuid or setgid program (swarm services cannot ask for no-new-privileges)", async () => {
    const found = await h.engine.run({
      name: `nestbox-swarm-suid-${Date.now().toString(36)}`,
      image: AGENT_IMAGE,
      labels: {},
      env: {},
      mounts: [],
      user: "0:0",
      entrypoint: ["sh", "-c", "find / -xdev -type f -perm /6000 2>/dev/null; echo scanned"],
    });
    expect(found.stdout.trim()).toBe("scanned");
  }, 120_000);

  it("the startup probe runs a one-shot service of the agent image, and names the fix when nodes lack an image", async () => {
    await expect(probeServices(h.docker, AGENT_IMAGE)).resolves.toBeUndefined();
    await expect(probeServices(h.docker, "nestbox-no-such-image:never")).rejects.toThrow(
      /nestbox-no-such-image:never .*every node that may run agents needs the image/,
    );
    expect(await h.docker.list({ "nestbox.probe": "1" })).toEqual([]);
  }, 120_000);

  it("a dial link cut mid-turn is resumed: the turn is answered once, on the same service, the model asked once", async () => {
    await h.ask("local:swarm-c", "warm up");
    const [service] = await h.docker.list({ "nestbox.install": h.installId, "nestbox.folder": "swarm-c" });
    const session = h.dialSessions().find((s) => s.agentName === service?.name);
    expect(session).toBeDefined();
    let release: () => void = () => {};
    hold = new Promise((r) => {
      release = r;
    });
    const before = requests;
    const sent = h.channel.sent.length;
    await h.channel.receive("local:swarm-c", "ping");
    await waitFor(() => requests > before, "the turn's model request", 60_000);
    session?.dropConnection(); // the cable is cut while the agent waits on the model
    hold = null;
    release();
    await h.pipeline.drain();
    expect(h.channel.sent.slice(sent).map((r) => r.text)).toEqual(["pong"]);
    expect(requests - before).toBe(1); // resumed, not retried
    expect(session?.resumes).toBe(1);
    const now = await h.docker.list({ "nestbox.install": h.installId, "nestbox.folder": "swarm-c" });
    expect(now.map((s) => s.id)).toEqual([service?.id]);
  }, 180_000);

  it("a task killed mid-turn is retried on a new service and answered exactly once", async () => {
    let release: () => void = () => {};
    hold = new Promise((r) => {
      release = r;
    });
    const before = requests;
    const sent = h.channel.sent.length;
    await h.channel.receive("local:swarm-b", "ping");
    await waitFor(() => requests > before, "the model request of the first agent", 120_000);
    const [first] = await h.docker.list({ "nestbox.install": h.installId, "nestbox.folder": "swarm-b" });
    const task = (await h.engine.list({ "nestbox.install": h.installId, "nestbox.folder": "swarm-b" })).find(
      (c) => c.running,
    );
    expect(task).toBeDefined();
    await h.engine.kill(task?.id ?? "");
    hold = null;
    release();
    await h.pipeline.drain();
    const replies = h.channel.sent.slice(sent).filter((s) => s.chatId === "local:swarm-b");
    expect(replies.map((r) => r.text)).toEqual(["pong"]);
    const now = await h.docker.list({ "nestbox.install": h.installId, "nestbox.folder": "swarm-b" });
    expect(now.map((s) => s.id)).not.toContain(first?.id);
    expect(now).toHaveLength(1);
  }, 240_000);
});

describeDocker("AGENT_RUNTIME=swarm setup register / unregister --purge: the chat's volumes", () => {
  withSwarm();
  it("register creates the chat's volumes, labelled with its install and chat; --purge removes its own two", async () => {
    const cwd = mkdtempSync(path.join(tmpdir(), "nestbox-swarm-register-"));
    const dataDir = path.join(cwd, "data");
    const setup = async (...argv: string[]) => {
      const { io, out } = captureIO({ NESTBOX_DATA_DIR: dataDir, AGENT_RUNTIME: "swarm" }, cwd);
      return { code: await runSetup(argv, io), ...out() };
    };
    const engine = new DockerRuntime();
    try {
      const reg = await setup(
        "register",
        "--channel",
        "telegram",
        "--jid",
        "tg:-100777",
        "--name",
        "Club",
        "--folder",
        "club",
      );
      expect(reg.code).toBe(0);
      const install = installIdOf(dataDir);
      const names = chatVolumeNames(install, "club");
      expect(reg.stdout).toContain(`in volumes ${names.group} and ${names.sessions}`);
      const volumes = await engine.listVolumes({ "nestbox.install": install });
      expect(volumes.map((v) => v.name).sort()).toEqual([names.global, names.group, names.sessions].sort());
      expect(volumes.find((v) => v.name === names.group)?.labels).toMatchObject({
        "nestbox.chat": "tg:-100777",
        "nestbox.folder": "club",
        "nestbox.volume": "group",
      });
      const un = await setup("unregister", "tg:-100777", "--purge");
      expect(un).toMatchObject({ code: 0, stderr: "" });
      expect((await engine.listVolumes({ "nestbox.install": install })).map((v) => v.name)).toEqual([
        names.global,
      ]);
      await engine.removeVolume(names.global);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  }, 120_000);
});

describeDocker(
  "AGENT_RUNTIME=swarm with AGENT_NETWORK=internal: the host is reached, nothing past it",
  () => {
    withSwarm();
    let inside: AgentHarness;
    let open: AgentHarness;
    beforeAll(async () => {
      const respond = () => ({ text: "here" });
      inside = await startAgentHarness({
        runtime: "swarm",
        agentNetwork: "internal",
        chats: [{ chatId: "local:in", folder: "in" }],
        respond,
      });
      open = await startAgentHarness({
        runtime: "swarm",
        chats: [{ chatId: "local:out", folder: "out" }],
        respond,
      });
    }, 180_000);
    afterAll(async () => {
      await inside?.close();
      await open?.close();
    }, 120_000);

    const taskOf = async (h: AgentHarness, folder: string) => {
      const [task] = (
        await h.engine.list({ "nestbox.install": h.installId, "nestbox.folder": folder })
      ).filter((c) => c.running);
      if (!task) throw new Error(`no running task for ${folder}`);
      return task.id;
    };
    /** Connects from inside a task's container as the agent's user; OK <what the server said>, or why not. */
    const connectFrom = async (id: string, host: string, port: number) =>
      (
        await promisify(execFile)(
          "docker",
          ["exec", "-u", agentUser(), id, "node", "-e", CONNECT, host, String(port)],
          {
            encoding: "utf8",
            timeout: 20_000,
          },
        )
      ).stdout.trim();

    // The outside host is a network namespace on this machine: the test sends nothing off it.
    it("answers through the credential proxy and the dial port; the open agent reaches a host outside, the internal one does not", async () => {
      expect(await inside.ask("local:in", "hi")).toEqual(["here"]);
      expect(await open.ask("local:out", "hi")).toEqual(["here"]);
      const outsideHost = await startOutsideHost();
      try {
        const { address, port } = outsideHost;
        expect(await connectFrom(await taskOf(open, "out"), address, port)).toBe("OK outside");
        expect(["TIMEOUT", "REFUSED", "ERR EHOSTUNREACH", "ERR ENETUNREACH"]).toContain(
          await connectFrom(await taskOf(inside, "in"), address, port),
        );
      } finally {
        outsideHost.close();
      }
    }, 180_000);
  },
);

describeDocker(
  "AGENT_RUNTIME=swarm npm start: answers, and a restarted host reaps the old host's services",
  () => {
    withSwarm();
    const model = useHostFixture("nestbox-swarm-start-", () => "hi from the swarm");
    let running: LiveProcess | null = null;
    const dataDir = () => path.join(model.cwd, "data");
    const npmStart = () => {
      running = spawnProcess("npm", ["start"], {
        cwd: root,
        env: npmStartEnv(model, AGENT_IMAGE, { AGENT_RUNTIME: "swarm", SWARM_SUBNET: "10.219.7.0/24" }),
      });
      return running;
    };
    const installId = () => installIdOf(dataDir());
    afterEach(async () => {
      for (const pid of running?.child.pid ? processTree(running.child.pid) : []) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
      running = null;
    });

    it("answers through a service; after a SIGKILL the next start removes the orphaned service and answers", async () => {
      const first = npmStart();
      first.send("hello");
      await first.waitFor("Andy: hi from the swarm\n", { timeoutMs: 180_000 });
      const swarm = new SwarmRuntime({ engine: new DockerRuntime() });
      const install = installId();
      const [orphan] = await swarm.list({ "nestbox.install": install });
      expect(orphan?.name).toMatch(new RegExp(`^nestbox-${install}-main-`));
      // The host dies without a word: its agent's service stays behind.
      for (const pid of processTree(first.child.pid as number).reverse()) process.kill(pid, "SIGKILL");
      await first.exited();
      expect((await swarm.list({ "nestbox.install": install })).map((s) => s.id)).toContain(orphan?.id);

      const second = npmStart();
      second.send("hello again");
      await second.waitFor("Andy: hi from the swarm\n", { timeoutMs: 180_000 });
      const now = await swarm.list({ "nestbox.install": install });
      expect(now.map((s) => s.id)).not.toContain(orphan?.id);
      second.endInput();
      expect(await second.exited()).toBe(0);
      // A clean stop leaves no service behind; the chat's volumes are its data (kept), removed here by the test.
      await waitFor(
        async () => (await swarm.list({ "nestbox.install": install })).length === 0,
        "no services",
        30_000,
      );
      const volumes = await swarm.listVolumes({ "nestbox.install": install });
      expect(volumes.map((v) => v.name).sort()).toEqual(
        [
          `nestbox-${install}-global`,
          `nestbox-${install}-group-main`,
          `nestbox-${install}-sessions-main`,
        ].sort(),
      );
      for (const v of volumes) await swarm.removeVolume(v.name);
    }, 420_000);
  },
);
