// The chaos suite's model: the scripted LLM (OpenAI wire format) answering "ack <ids>" for every
// message id in the turn's prompt, with fault switches the scenarios flip while the host runs.
import { type ScriptedLlm, startScriptedLlm } from "../doubles/scripted-llm.js";
import { idsIn } from "./ledger.js";

/** How the model behaves right now. */
export type ModelMode = "ok" | "500" | "hang";

export interface ChaosModel {
  llm: ScriptedLlm;
  mode: ModelMode;
  /** Time each good answer takes (so turns are in flight when a fault lands). */
  delayMs: number;
  /** Requests answered with an error or left hanging, by mode. */
  faults: { "500": number; hang: number };
}

export async function startChaosModel(): Promise<ChaosModel> {
  const model: ChaosModel = {
    llm: undefined as unknown as ScriptedLlm,
    mode: "ok",
    delayMs: 0,
    faults: { "500": 0, hang: 0 },
  };
  model.llm = await startScriptedLlm({
    format: "openai",
    host: "127.0.0.1",
    respond: async (req) => {
      if (model.mode === "500") {
        model.faults["500"] += 1;
        return { error: { status: 500, message: "chaos: internal error" } };
      }
      if (model.mode === "hang") {
        model.faults.hang += 1;
        // Hangs until the proxy's stall limit cuts it; the answer that follows is never read.
        await new Promise((r) => setTimeout(r, 120_000).unref());
      }
      if (model.delayMs > 0) await new Promise((r) => setTimeout(r, model.delayMs));
      const users = (req.messages as { role: string; content: unknown }[]).filter((m) => m.role === "user");
      const ids = [...new Set(idsIn(JSON.stringify(users.at(-1)?.content ?? "")))];
      return { text: ids.length > 0 ? `ack ${ids.join(" ")}` : "nothing to ack" };
    },
  });
  return model;
}
