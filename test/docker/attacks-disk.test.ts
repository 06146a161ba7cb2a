import { existsSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { ScriptedRequest } from "../doubles/scripted-llm.js";
import { type AgentHarness, startAgentHarness } from "./agent-harness.js";
import { describeDocker } from "./support.js";

/** What the chat reads when its folder is over the limit (the numbers stay in the log and the turn). */
const FOLDER_FULL =
  "Sorry, I can't work on this: this chat's folder is full. Delete some files and ask again.";

/** "RUN:<command>" makes the model call bash with that command; anything else gets a plain answer. */
function respond(req: ScriptedRequest) {
  const messages = req.messages as { role: string; content: unknown }[];
  const last = messages.at(-1);
  if (last?.role === "tool") return { text: "done" };
  const text = typeof last?.content === "string" ? last.content : JSON.stringify(last?.content ?? "");
  const unescaped = text
    .replace(/&gt;/g, ">")
    .replace(/&lt;/g, "<")
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, "&");
  const m = /RUN:(.*?)<\/message>/.exec(unescaped);
  if (m?.[1]) return { toolCall: { name: "bash", arguments: { command: m[1] } } };
  return { text: "hello from the agent" };
}

// An agent that fills its folder: the turn is stopped, the chat told why, further turns refused without
// a container, another chat unaffected, and the chat answered again once the folder shrinks.
describeDocker("attack: disk fill past the chat's limit", () => {
  let h: AgentHarness;
  beforeAll(async () => {
    h = await startAgentHarness({
      chats: [
        { chatId: "local:victim", folder: "victim" },
        { chatId: "local:filler", folder: "filler" },
      ],
      respond,
      disk: { chatLimitMb: 16, reserveMb: 0, watchIntervalMs: 500 },
    });
  });
  afterAll(() => h?.close());

  it("stops the filling turn, refuses the next ones and keeps answering the other chat", async () => {
    const fill = "RUN:head -c 64M /dev/zero > /workspace/group/fill.bin; sleep 60";
    const started = Date.now();
    const replies = await h.ask("local:filler", fill);
    expect(replies).toEqual([FOLDER_FULL]);
    expect(h.store.turns.list("local:filler").at(-1)?.error).toMatch(
      /this chat's folder uses \d+ MB, over its 16 MB limit \(AGENT_DISK_MB\)/,
    );
    expect(Date.now() - started).toBeLessThan(45_000);
    expect(await h.containersOf("filler")).toEqual([]);

    const refused = await h.ask("local:filler", "hi again");
    expect(refused).toEqual([FOLDER_FULL]);
    expect(h.store.turns.list("local:filler").at(-1)?.error).toMatch(/over its 16 MB limit/);
    expect(await h.containersOf("filler")).toEqual([]);

    expect(await h.ask("local:victim", "hello")).toEqual(["hello from the agent"]);

    const file = path.join(h.dataDir, "groups", "filler", "fill.bin");
    expect(statSync(file).size).toBeGreaterThan(16 * 1024 * 1024);
    rmSync(file);
    expect(existsSync(file)).toBe(false);
    expect(await h.ask("local:filler", "and now?")).toEqual(["hello from the agent"]);
  });
});
