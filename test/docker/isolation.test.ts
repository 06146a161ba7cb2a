import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type AgentHarness, SECRET, startAgentHarness } from "./agent-harness.js";
import { describeDocker } from "./support.js";

describeDocker("isolation: folders, user, secrets, credential proxy", () => {
  let h: AgentHarness;
  beforeAll(async () => {
    h = await startAgentHarness({
      chats: [
        { chatId: "local:alpha", folder: "alpha", isMain: true },
        { chatId: "local:beta", folder: "beta" },
      ],
      respond: (req) => {
        const said = JSON.stringify(req.messages);
        const raw = /RUN:(.+?)(?:<|\\|")/.exec(said)?.[1];
        const cmd = raw
          ?.replace(/&gt;/g, ">")
          .replace(/&lt;/g, "<")
          .replace(/&quot;/g, '"')
          .replace(/&amp;/g, "&");
        if (cmd && !said.includes("tool_call_id"))
          return { toolCall: { name: "bash", arguments: { command: cmd } } };
        const out = /"role":"tool"[^}]*"content":"((?:[^"\\]|\\.)*)"/.exec(said)?.[1] ?? "";
        return { text: `OUT ${out.replace(/\\n/g, "\n")}` };
      },
    });
    writeFileSync(path.join(h.dataDir, "groups/alpha/secret-plan.txt"), "alpha only");
  });
  afterAll(() => h?.close());

  it("a chat's container sees its own folder, not another chat's, and runs as non-root", async () => {
    await h.ask("local:alpha", "RUN:ls /workspace/group");
    const [beta] = await h.ask(
      "local:beta",
      "RUN:id -u; ls /workspace/group; ls /workspace; cat /workspace/group/secret-plan.txt 2>&1; find / -name secret-plan.txt 2>/dev/null | wc -l",
    );
    expect(beta).toMatch(/^OUT [1-9]\d*\n/);
    expect(beta).not.toMatch(/^OUT 0\n/);
    expect(beta).toContain("No such file");
    expect(beta).toMatch(/\n0\s*$/);
  });

  it("no container's inspect data or /proc/1/environ holds the real API key", async () => {
    const containers = await h.docker.list({ "nestbox.install": h.installId });
    expect(containers.length).toBeGreaterThanOrEqual(2);
    for (const c of containers) {
      const info = await h.docker.inspect(c.id);
      expect(info?.user).not.toMatch(/^(0|root)?(:|$)/);
      const inspectJson = execFileSync("docker", ["inspect", c.id], { encoding: "utf8" });
      expect(inspectJson).not.toContain(SECRET);
      expect(JSON.stringify(info)).not.toContain(SECRET);
      const environ = execFileSync("docker", ["exec", c.id, "cat", "/proc/1/environ"], { encoding: "utf8" });
      expect(environ).toContain("NESTBOX_MODEL_TOKEN=nbx-");
      expect(environ).not.toContain(SECRET);
      expect(info?.mounts.map((m) => m.source).join(" ")).not.toMatch(/docker\.sock|\/auth/);
      expect(info?.labels["nestbox.install"]).toBe(h.installId);
    }
  });

  it("the credential proxy answers 401 to a wrong token and forwards nothing", async () => {
    const before = h.llm.requests.length;
    for (const headers of [
      { authorization: "Bearer nbx-not-a-real-token" },
      { "x-api-key": "guess" },
      {} as Record<string, string>,
    ]) {
      const res = await fetch(`http://${h.gateway}:${h.proxy.port}/model/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify({ model: "x", messages: [{ role: "user", content: "hi" }] }),
      });
      expect(res.status).toBe(401);
      expect(await res.text()).not.toContain(SECRET);
    }
    expect(h.llm.requests.length).toBe(before);
  });
});
