import { afterEach, expect, it } from "vitest";
import type { ScriptedRequest } from "../doubles/scripted-llm.js";
import { waitFor } from "../wait.js";
import { type AgentHarness, startAgentHarness } from "./agent-harness.js";
import { describeDocker } from "./support.js";

const lastUser = (req: ScriptedRequest) => {
  const users = (req.messages as { role: string; content: unknown }[]).filter((m) => m.role === "user");
  return JSON.stringify(users.at(-1)?.content ?? "");
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeDocker("agent lifecycle on the real daemon", () => {
  let h: AgentHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it("reuses the warm container for the next turn, and removes it after the idle timeout", async () => {
    h = await startAgentHarness({
      chats: [{ chatId: "local:warm", folder: "warm" }],
      idleTimeoutMs: 4000,
      respond: (req) => ({ text: `echo ${lastUser(req).includes("second") ? "second" : "first"}` }),
    });
    expect(await h.ask("local:warm", "first")).toEqual(["echo first"]);
    const first = h.supervisor.containerOf("local:warm");
    expect(first).toBeTruthy();
    expect(await h.ask("local:warm", "second")).toEqual(["echo second"]);
    expect(h.supervisor.containerOf("local:warm")).toBe(first);
    expect((await h.containersOf("warm")).map((c) => c.id)).toEqual([first]);
    await sleep(6500);
    expect(await h.docker.inspect(first as string)).toBeNull();
    expect(h.supervisor.containerOf("local:warm")).toBeNull();
  });

  it("kills the container of a turn past AGENT_TURN_TIMEOUT and tells the chat", async () => {
    h = await startAgentHarness({
      chats: [{ chatId: "local:slow", folder: "slow" }],
      turnTimeoutMs: 4000,
      respond: async () => {
        await sleep(60_000);
        return { text: "too late" };
      },
    });
    const started = h.channel.receive("local:slow", "take your time");
    const id = await waitFor(
      () => h?.supervisor.containerOf("local:slow") ?? undefined,
      "the slow chat's container",
      10_000,
    );
    await started;
    await h.pipeline.drain();
    const replies = h.channel.sent.map((s) => s.text);
    expect(replies).toEqual(["Sorry, that took too long, so I stopped working on it."]);
    expect(h.store.turns.list("local:slow")[0]?.error).toBe(
      "it took longer than 4 s (AGENT_TURN_TIMEOUT), so the agent was stopped",
    );
    const info = await h.docker.inspect(id);
    expect(info ? `${info.status} ${info.running}` : null).toBeNull();
  });

  it("retries a turn whose container was killed mid-turn, in a new container", async () => {
    let killed: string | null = null;
    const harness = await startAgentHarness({
      chats: [{ chatId: "local:crash", folder: "crash" }],
      respond: async () => {
        if (!killed) {
          killed = harness.supervisor.containerOf("local:crash");
          await harness.docker.kill(killed as string);
          await sleep(500);
          return { text: "lost" };
        }
        return { text: "answered after the crash" };
      },
    });
    h = harness;
    expect(await h.ask("local:crash", "hello")).toEqual(["answered after the crash"]);
    const now = h.supervisor.containerOf("local:crash");
    expect(now).toBeTruthy();
    expect(now).not.toBe(killed);
  });

  it("reports a container that keeps crashing to the chat after 3 tries", async () => {
    const harness = await startAgentHarness({
      chats: [{ chatId: "local:doomed", folder: "doomed" }],
      respond: async () => {
        await harness.docker.kill(harness.supervisor.containerOf("local:doomed") as string);
        await sleep(500);
        return { text: "never" };
      },
    });
    h = harness;
    const replies = await h.ask("local:doomed", "hello");
    expect(replies).toHaveLength(1);
    expect(replies[0]).toBe("Sorry, something went wrong and I couldn't answer that.");
    expect(h.store.turns.list("local:doomed")[0]?.error).toMatch(/^the agent crashed 3 time\(s\)/);
    expect(h.llm.requests).toHaveLength(3);
    expect(await h.containersOf("doomed")).toEqual([]);
  });

  it("pre-warms the agent when a registered chat shows activity, without a turn", async () => {
    h = await startAgentHarness({
      chats: [{ chatId: "local:quiet", folder: "quiet", requiresTrigger: true }],
      respond: () => ({ text: "hi" }),
    });
    await h.channel.receive("local:quiet", "just talking among ourselves");
    const id = await waitFor(
      async () => (await h?.containersOf("quiet"))?.[0]?.id,
      "the pre-warmed container",
      10_000,
    );
    expect(h.llm.requests).toEqual([]);
    expect(await h.ask("local:quiet", "@Andy now answer")).toEqual(["hi"]);
    expect(h.supervisor.containerOf("local:quiet")).toBe(id);
  });

  it("resumes the session in a new container: the model sees the earlier messages", async () => {
    h = await startAgentHarness({
      chats: [{ chatId: "local:memo", folder: "memo" }],
      respond: (req) => ({
        text: `I have seen ${req.messages.filter((m) => (m as { role: string }).role === "user").length} user messages`,
      }),
    });
    expect(await h.ask("local:memo", "my name is Zed")).toEqual(["I have seen 1 user messages"]);
    const first = h.supervisor.containerOf("local:memo") as string;
    await h.docker.remove(first);
    await sleep(500);
    expect(await h.ask("local:memo", "what is my name?")).toEqual(["I have seen 2 user messages"]);
    expect(h.supervisor.containerOf("local:memo")).not.toBe(first);
    const last = h.llm.requests.at(-1);
    expect(JSON.stringify(last?.messages)).toContain("my name is Zed");
    expect(h.store.sessions.get("local:memo")).toBeTruthy();
  });
});
