import { afterAll, beforeAll, expect, it } from "vitest";
import type { ScriptedRequest } from "../doubles/scripted-llm.js";
import { type AgentHarness, startAgentHarness } from "./agent-harness.js";
import { describeDocker } from "./support.js";

/** The model asks for send_message with the JSON after "SEND:", then reports the tool's answer. */
function respond(req: ScriptedRequest) {
  const messages = req.messages as { role: string; content: unknown }[];
  const last = messages.at(-1);
  if (last?.role === "tool") return { text: `tool said: ${JSON.stringify(last.content)}` };
  const text = typeof last?.content === "string" ? last.content : JSON.stringify(last?.content ?? "");
  const m = /SEND:(\{[^}]*\})/.exec(text.replace(/&quot;/g, '"'));
  if (m?.[1]) return { toolCall: { name: "send_message", arguments: JSON.parse(m[1]) } };
  return { text: "nothing to do" };
}

describeDocker("host tool send_message", () => {
  let h: AgentHarness;
  beforeAll(async () => {
    h = await startAgentHarness({
      chats: [
        { chatId: "local:owner", folder: "owner", isMain: true },
        { chatId: "local:family", folder: "family" },
      ],
      respond,
    });
  });
  afterAll(() => h?.close());

  it("sends to the agent's own chat while the turn goes on", async () => {
    const replies = await h.ask("local:family", 'SEND:{"text":"working on it"}</');
    expect(replies[0]).toBe("working on it");
    expect(replies.at(-1)).toMatch(/tool said: .*sent to local:family/);
  });

  it("lets the main chat message another registered chat", async () => {
    await h.ask("local:owner", 'SEND:{"text":"dinner at 7","chatId":"local:family"}</');
    expect(h.channel.sent.filter((s) => s.chatId === "local:family").map((s) => s.text)).toContain(
      "dinner at 7",
    );
  });

  it("refuses other chats for a non-main chat, and unregistered chats for everyone", async () => {
    const before = h.channel.sent.length;
    const denied = await h.ask("local:family", 'SEND:{"text":"psst","chatId":"local:owner"}</');
    expect(denied.at(-1)).toMatch(/only the main chat may send to other chats/);
    const unknown = await h.ask("local:owner", 'SEND:{"text":"hi","chatId":"local:stranger"}</');
    expect(unknown.at(-1)).toMatch(/local:stranger is not a registered chat/);
    expect(h.channel.sent.slice(before).map((s) => s.text)).not.toContain("psst");
  });
});
