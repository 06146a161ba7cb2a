// Image build only (make-code-cache.ts): one real turn per wire format through the runner's own
// PiAgent against a local stand-in model on 127.0.0.1, so V8 compiles what a first turn runs (session
// creation, the provider SDK, streaming) before the code cache is written. Nothing here runs in a
// container that serves a chat.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PiAgent } from "./agent.js";
import { loadRunnerConfig } from "./config.js";
import type { PiModule } from "./pi-types.js";
import type { TurnSink } from "./runner-agent.js";

const sse = (res: ServerResponse, data: unknown, event?: string) =>
  res.write(`${event ? `event: ${event}\n` : ""}data: ${JSON.stringify(data)}\n\n`);

/** Streams "ok" in the OpenAI chat completions or the Anthropic messages format. */
function answer(path: string, res: ServerResponse): void {
  res.writeHead(200, { "content-type": "text/event-stream" });
  if (path.endsWith("/chat/completions")) {
    const base = { id: "c1", object: "chat.completion.chunk", created: 0, model: "m" };
    sse(res, {
      ...base,
      choices: [{ index: 0, delta: { role: "assistant", content: "ok" }, finish_reason: null }],
    });
    sse(res, { ...base, choices: [{ index: 0, delta: {}, finish_reason: "stop" }] });
    res.end("data: [DONE]\n\n");
    return;
  }
  const usage = { input_tokens: 1, output_tokens: 1 };
  const message = { id: "m1", type: "message", role: "assistant", model: "m", content: [], usage };
  sse(res, { type: "message_start", message }, "message_start");
  sse(
    res,
    { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } },
    "content_block_start",
  );
  sse(
    res,
    { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "ok" } },
    "content_block_delta",
  );
  sse(res, { type: "content_block_stop", index: 0 }, "content_block_stop");
  sse(res, { type: "message_delta", delta: { stop_reason: "end_turn" }, usage }, "message_delta");
  sse(res, { type: "message_stop" }, "message_stop");
  res.end();
}

/** Runs one turn per provider; throws when a turn does not answer "ok". */
export async function runTrainingTurns(pi: PiModule): Promise<void> {
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => answer(req.url ?? "", res));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const root = mkdtempSync(join(tmpdir(), "nestbox-cache-training-"));
  try {
    for (const provider of ["openai", "anthropic"] as const) {
      const dirs = Object.fromEntries(
        ["group", "global", "sessions", "skills"].map((d) => [d, join(root, provider, d)]),
      );
      for (const dir of Object.values(dirs)) mkdirSync(dir, { recursive: true });
      const config = loadRunnerConfig({
        NESTBOX_MODEL_PROVIDER: provider,
        NESTBOX_MODEL: "training",
        NESTBOX_MODEL_BASE_URL: `http://127.0.0.1:${port}${provider === "openai" ? "/v1" : ""}`,
        NESTBOX_MODEL_TOKEN: "training",
        NESTBOX_GROUP_DIR: dirs.group,
        NESTBOX_GLOBAL_DIR: dirs.global,
        NESTBOX_SESSIONS_DIR: dirs.sessions,
        NESTBOX_SKILLS_DIR: dirs.skills,
      });
      const replies: string[] = [];
      const errors: string[] = [];
      const sink: TurnSink = {
        reply: (text) => void replies.push(text),
        error: (_code, message) => void errors.push(message),
        log: () => {},
        callHostTool: async () => ({ ok: false, error: "no host at image build" }),
      };
      const agent = new PiAgent(pi, config);
      const turn = { type: "turn" as const, turnId: "training", prompt: "hi", sessionId: null };
      await agent.runTurn(turn, sink, new AbortController().signal);
      await agent.close();
      if (replies[0] !== "ok")
        throw new Error(`training turn (${provider}) failed: ${errors.join("; ") || replies.join("; ")}`);
    }
  } finally {
    server.close();
    rmSync(root, { recursive: true, force: true });
  }
}
