import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll } from "vitest";
import { type ScriptedLlm, startScriptedLlm } from "../doubles/scripted-llm.js";

/** What {@link useHostFixture} gives a suite of real host processes. */
export interface HostFixture {
  llm: ScriptedLlm;
  /** The working folder the hosts run in (its `data/` is their data folder). */
  cwd: string;
  /** Each model answer waits this long first (set it before the request arrives); 0: at once. */
  delayMs: number;
}

/**
 * A scripted model answering `answer(delayed)` (delayed: it waited `delayMs`) and a working folder,
 * both for the whole suite: the shared setup of the tests that run `nestbox start` as a process.
 */
export function useHostFixture(prefix: string, answer: (delayed: boolean) => string): HostFixture {
  const t = { cwd: "", delayMs: 0 } as HostFixture;
  beforeAll(async () => {
    t.llm = await startScriptedLlm({
      format: "openai",
      host: "127.0.0.1",
      respond: async () => {
        const delayed = t.delayMs > 0;
        if (delayed) await new Promise((r) => setTimeout(r, t.delayMs));
        return { text: answer(delayed) };
      },
    });
    t.cwd = mkdtempSync(path.join(tmpdir(), prefix));
  });
  afterAll(async () => {
    await t.llm.close();
    rmSync(t.cwd, { recursive: true, force: true });
  });
  return t;
}

/** The environment `npm start` gets in these suites: the fixture's model, data folder and home, quiet logs. */
export function npmStartEnv(t: HostFixture, agentImage: string, extra: Record<string, string> = {}) {
  return {
    PATH: process.env.PATH ?? "",
    HOME: t.cwd,
    LOG_LEVEL: "warn",
    NESTBOX_HEALTH_PORT: "0",
    NESTBOX_DATA_DIR: path.join(t.cwd, "data"),
    MODEL: "scripted",
    OPENAI_BASE_URL: t.llm.url,
    AGENT_IMAGE: agentImage,
    ...extra,
  };
}
