import { chmodSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { checkExtraMounts } from "../../src/containers/mount-policy.js";
import type { ScriptedRequest } from "../doubles/scripted-llm.js";
import { waitFor } from "../wait.js";
import { type AgentHarness, startAgentHarness } from "./agent-harness.js";
import { describeDocker } from "./support.js";

/** Runs `RUN:<command>` of the latest user message with the bash tool, then answers `OUT <output>`. */
function bashAgent(req: ScriptedRequest) {
  const last = (req.messages as { role: string; content: unknown }[]).at(-1);
  const text = typeof last?.content === "string" ? last.content : JSON.stringify(last?.content ?? "");
  if (last?.role === "tool") return { text: `OUT ${text.trim()}` };
  const cmd = /RUN:(.+?)(?:<|\n|$)/
    .exec(text)?.[1]
    ?.replace(/&gt;/g, ">")
    .replace(/&lt;/g, "<")
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, "&");
  return cmd ? { toolCall: { name: "bash", arguments: { command: cmd } } } : { text: "no command" };
}

describeDocker("attacks: extra mounts re-checked by real path at every container start", () => {
  let h: AgentHarness;
  let allowed: string;
  let server: Server;
  const at = (...p: string[]) => path.join(allowed, ...p);

  beforeAll(async () => {
    allowed = realpathSync(mkdtempSync(path.join(tmpdir(), "nestbox-allowed-")));
    for (const d of ["notes", "work", "sockdir"]) mkdirSync(at(d));
    writeFileSync(at("notes/hello.txt"), "notes-content-4711");
    for (const d of [allowed, at("notes"), at("work"), at("sockdir")]) chmodSync(d, 0o755);
    chmodSync(at("notes/hello.txt"), 0o644);
    server = createServer();
    await new Promise<void>((r) => server.listen(at("sockdir/docker.sock"), r));
    h = await startAgentHarness({
      mountAllowlist: [{ path: allowed, readWrite: false }],
      chats: [
        {
          chatId: "local:alpha",
          folder: "alpha",
          extraMounts: [{ name: "notes", hostPath: at("notes"), readOnly: true }],
        },
        {
          chatId: "local:gamma",
          folder: "gamma",
          extraMounts: [{ name: "work", hostPath: at("work"), readOnly: true }],
        },
        { chatId: "local:beta", folder: "beta" },
      ],
      respond: bashAgent,
    });
  });
  afterAll(async () => {
    await h?.close();
    server?.close();
    rmSync(allowed, { recursive: true, force: true });
  });

  /** Every container (running or not) this harness has for a chat folder. */
  const everyContainer = (folder: string) =>
    h.docker.list({ "nestbox.install": h.installId, "nestbox.folder": folder });

  it("the registered mounts pass the rule the CLI applies", () => {
    for (const chat of h.store.chats.list()) {
      expect(checkExtraMounts(chat.extraMounts, h.mountPolicy)).toEqual(chat.extraMounts);
    }
  });

  it("a chat with an allowed mount gets it, read-only, at /workspace/extra/<name>", async () => {
    const [reply] = await h.ask(
      "local:alpha",
      "RUN:cat /workspace/extra/notes/hello.txt; echo; touch /workspace/extra/notes/x 2>&1 | tail -1",
    );
    expect(reply).toContain("notes-content-4711");
    expect(reply).toMatch(/Read-only file system/);
    const [c] = await everyContainer("alpha");
    const info = await h.docker.inspect(c?.id as string);
    expect(info?.mounts).toContainEqual({
      source: at("notes"),
      destination: "/workspace/extra/notes",
      readOnly: true,
    });
  });

  it("the folder replaced by a symlink to data/: the next start is refused, the chat told why, no container", async () => {
    const id = h.supervisor.containerOf("local:alpha") as string;
    await h.docker.remove(id);
    await waitFor(() => h.supervisor.containerOf("local:alpha") === null, "the old container to go", 10_000);
    expect(await everyContainer("alpha")).toEqual([]);
    rmSync(at("notes"), { recursive: true });
    symlinkSync(h.dataDir, at("notes"));
    // As in a real install, where agents run as the data folder's owner: readable if it were mounted.
    chmodSync(h.dataDir, 0o755);
    const llmCalls = h.llm.requests.length;
    const replies = await h.ask("local:alpha", "RUN:ls -la /workspace/extra/notes/");
    expect(replies).toHaveLength(1);
    expect(replies[0]).toBe("Sorry, something went wrong and I couldn't answer that.");
    expect(h.store.turns.list("local:alpha").at(-1)?.error).toMatch(
      /^extra mount notes is refused: .*notes \(real path .*\) is nestbox's data folder .*\(fix: /,
    );
    expect(await everyContainer("alpha")).toEqual([]);
    expect(h.llm.requests.length).toBe(llmCalls);
  });

  it("a folder replaced by a symlink to a folder holding a socket, or to /var/run: refused, no container", async () => {
    rmSync(at("work"), { recursive: true });
    symlinkSync(at("sockdir"), at("work"));
    const lastError = () => h.store.turns.list("local:gamma").at(-1)?.error;
    const [viaSocket] = await h.ask("local:gamma", "RUN:ls /workspace/extra/work");
    expect(viaSocket).toBe("Sorry, something went wrong and I couldn't answer that.");
    expect(lastError()).toMatch(
      /extra mount work is refused: .*work \(real path .*sockdir\) holds a socket \(docker\.sock\)/,
    );
    rmSync(at("work"));
    symlinkSync("/var/run", at("work"));
    const [viaRun] = await h.ask("local:gamma", "RUN:ls /workspace/extra/work");
    expect(viaRun).toBe("Sorry, something went wrong and I couldn't answer that.");
    expect(lastError()).toMatch(
      /extra mount work is refused: .*\(real path \/run\) (holds the Docker socket|is the system)/,
    );
    expect(await everyContainer("gamma")).toEqual([]);
  });

  it("another chat is still answered", async () => {
    expect(await h.ask("local:beta", "RUN:echo still-here")).toEqual(["OUT still-here"]);
  });
});
