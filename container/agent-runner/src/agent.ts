// The pi side of the runner: one pi AgentSession per conversation, persisted under the sessions
// mount, driven one turn at a time. Everything pi-specific lives here; serve.ts only speaks frames.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { AgentErrorCode } from "../../../src/protocol/error-codes.js";
import type { TurnFrame } from "../../../src/protocol/frames.js";
import { HOST_TOOL_NAMES } from "../../../src/protocol/host-tools.js";
import type { RunnerConfig } from "./config.js";
import { createHostTools } from "./host-tools.js";
import type {
  PiAssistantMessage,
  PiModelInfo,
  PiModelRegistry,
  PiModule,
  PiSession,
  PiSkills,
} from "./pi-types.js";
import type { RunnerAgent, TurnOutcome, TurnSink } from "./runner-agent.js";
import { mark, startupReport } from "./startup-marks.js";
import { buildSystemPrompt } from "./system-prompt.js";

/** Provider id under which the credential proxy's model is registered in pi. */
const PROVIDER_ID = "nestbox";
/** Longest reply text sent in one frame; far above any chat platform's limit, far below the frame cap. */
const MAX_REPLY_CHARS = 100_000;
const SESSION_ID_PATTERN = /^[A-Za-z0-9._-]{1,200}$/;

/**
 * Drives pi for the runner. `pi` is the imported `@mariozechner/pi-coding-agent` module, passed in so
 * main.ts can import it in the background while it already serves stdin.
 */
export class PiAgent implements RunnerAgent {
  readonly #pi: PiModule;
  readonly #config: RunnerConfig;
  readonly #authStorage: ReturnType<PiModule["AuthStorage"]["inMemory"]>;
  readonly #modelRegistry: PiModelRegistry;
  readonly #model: PiModelInfo;
  readonly #skills: PiSkills;
  /** The live AgentSession, kept warm between turns. */
  #session: PiSession | null = null;
  #sink: TurnSink | null = null;

  constructor(pi: PiModule, config: RunnerConfig) {
    this.#pi = pi;
    this.#config = config;
    this.#authStorage = pi.AuthStorage.inMemory();
    this.#authStorage.setRuntimeApiKey(PROVIDER_ID, config.token);
    this.#modelRegistry = pi.ModelRegistry.inMemory(this.#authStorage);
    mark("modelRegistryReady");
    this.#model = this.#registerModel();
    this.#skills = this.#loadSkills();
  }

  /** Names of the skills found under the skills mount (for the startup log). */
  get skillNames(): string[] {
    return this.#skills.skills.map((skill) => skill.name);
  }

  /**
   * Run one turn. Resolves when the turn is over (also after a model error or an abort);
   * rejects only when no session could be opened or pi refused the prompt.
   */
  async runTurn(turn: TurnFrame, sink: TurnSink, signal: AbortSignal): Promise<TurnOutcome> {
    this.#sink = sink;
    mark("turnStart");
    const session = await this.#sessionFor(turn.sessionId, sink);
    mark("sessionReady");
    // Re-read AGENTS.md memory: the agent may have edited it during the previous turn.
    session.setActiveToolsByName(session.getActiveToolNames());

    // Where the conversation stood before this turn: a turn that fails before doing anything is undone,
    // so the retry (which resends the same messages) does not find them in the history twice.
    const leafBefore = session.sessionManager.getLeafId();
    let didSomething = false;
    const usage = { inputTokens: 0, outputTokens: 0 };
    let assistantMessages = 0;
    let held: string | null = null;
    let last: PiAssistantMessage | null = null;
    const unsubscribe = session.subscribe((event) => {
      mark(`pi ${event.type}${event.message?.role ? ` ${event.message.role}` : ""}`);
      const message = event.message;
      if (event.type !== "message_end" || message?.role !== "assistant") return;
      mark("firstModelReply");
      assistantMessages += 1;
      last = message;
      const u = message.usage ?? {};
      usage.inputTokens += (u.input ?? 0) + (u.cacheRead ?? 0) + (u.cacheWrite ?? 0);
      usage.outputTokens += u.output ?? 0;
      const callsTools = message.content.some((block) => block.type === "toolCall");
      if (callsTools) didSomething = true;
      const text = clip(textOf(message));
      if (!text) return;
      didSomething = true;
      if (held !== null) sink.reply(held, false);
      held = null;
      // A message that calls tools is never the last one; any other may be, so hold it until the end.
      if (callsTools) sink.reply(text, false);
      else held = text;
    });
    const onAbort = () => {
      session.abort().catch((err) => sink.log("warn", `abort failed: ${errorText(err)}`));
    };
    signal.addEventListener("abort", onAbort, { once: true });
    let threw = true;
    try {
      if (signal.aborted) throw new Error("turn cancelled before it started");
      mark("promptStart");
      await session.prompt(turn.prompt, { expandPromptTemplates: false });
      threw = false;
    } finally {
      const failed = threw || signal.aborted || ["error", "aborted"].includes(String(lastStop(last)));
      if (failed && !didSomething) this.#undo(session, leafBefore, sink);
      signal.removeEventListener("abort", onAbort);
      unsubscribe();
      this.#sink = null;
    }
    if (held !== null) sink.reply(held, true);
    mark("firstTurnDone");
    const startup = startupReport();
    if (startup) sink.log("info", startup);
    const stop = lastStop(last);
    const errorMessage = (last as PiAssistantMessage | null)?.errorMessage;
    if (signal.aborted || stop === "aborted") {
      sink.error(AgentErrorCode.Cancelled, "the turn was cancelled");
    } else if (stop === "error") {
      // The credential proxy retried the model for its whole window and answered model_unavailable.
      const unavailable = /model_unavailable|kept failing for \d+ s/.test(errorMessage ?? "");
      sink.error(
        unavailable ? AgentErrorCode.ModelUnavailable : AgentErrorCode.ModelError,
        errorMessage || "the model call failed",
      );
    } else if (stop === "length") {
      sink.log("warn", "the model stopped at its output token limit");
    }
    return { sessionId: session.sessionId ?? null, usage: assistantMessages > 0 ? usage : null };
  }

  /**
   * Moves the conversation back to where it stood before a turn that failed without replying or
   * calling a tool, and records that in the session file, so a reopened session starts there too.
   */
  #undo(session: PiSession, leaf: string | null, sink: TurnSink): void {
    try {
      const manager = session.sessionManager;
      if (manager.getLeafId() === leaf) return;
      if (leaf === null) manager.resetLeaf();
      else manager.branch(leaf);
      manager.appendCustomEntry("nestbox-undone-turn", { at: new Date().toISOString() });
      session.agent.state.messages = manager.buildSessionContext().messages;
    } catch (err) {
      sink.log("warn", `could not undo the failed turn in the session: ${errorText(err)}`);
    }
  }

  /** Abort whatever runs and release the session. */
  async close(): Promise<void> {
    const session = this.#session;
    this.#session = null;
    if (!session) return;
    await session.abort().catch(() => {});
    session.dispose();
  }

  /** The session for a turn: the warm one when ids match, else reopened from disk, else a new one. */
  async #sessionFor(sessionId: string | null, sink: TurnSink): Promise<PiSession> {
    const current = this.#session;
    if (current && sessionId !== null && current.sessionId === sessionId) return current;
    const { SessionManager } = this.#pi;
    const { group, sessions } = this.#config.paths;
    let manager: unknown = null;
    if (sessionId !== null) {
      const file = findSessionFile(sessions, sessionId);
      if (file) {
        manager = SessionManager.open(file, sessions, group);
      } else {
        sink.log("warn", `session ${sessionId} not found under ${sessions}; starting a new one`);
      }
    }
    manager ??= SessionManager.create(group, sessions);
    if (current) {
      this.#session = null;
      current.dispose();
    }
    const { session } = await this.#pi.createAgentSession({
      cwd: group,
      agentDir: join(process.env.TMPDIR || "/tmp", "nestbox-pi"),
      model: this.#model,
      thinkingLevel: this.#config.thinkingLevel,
      modelRegistry: this.#modelRegistry,
      authStorage: this.#authStorage,
      resourceLoader: this.#resourceLoader(),
      settingsManager: this.#pi.SettingsManager.inMemory({ retry: { enabled: false } }),
      sessionManager: manager,
      tools: ["read", "bash", "edit", "write", ...HOST_TOOL_NAMES],
      customTools: createHostTools(() => this.#sink),
    });
    this.#session = session;
    return session;
  }

  /** Register the credential proxy as a pi provider; reuse pi's metadata when it knows the model. */
  #registerModel(): PiModelInfo {
    const { provider, model: modelId, baseUrl, maxTokens, contextWindow } = this.#config;
    const known = this.#modelRegistry.find(provider, modelId);
    this.#modelRegistry.registerProvider(PROVIDER_ID, {
      name: "nestbox credential proxy",
      baseUrl,
      // Resolved per request; the runtime key set on the auth storage wins anyway.
      apiKey: "NESTBOX_MODEL_TOKEN",
      api: provider === "anthropic" ? "anthropic-messages" : "openai-completions",
      models: [
        {
          id: modelId,
          name: known?.name ?? modelId,
          reasoning: known?.reasoning ?? false,
          thinkingLevelMap: known?.thinkingLevelMap,
          input: known?.input ?? ["text", "image"],
          cost: known?.cost ?? { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
          contextWindow: contextWindow ?? known?.contextWindow ?? 128_000,
          maxTokens: maxTokens ?? known?.maxTokens ?? 8_192,
        },
      ],
    });
    const model = this.#modelRegistry.find(PROVIDER_ID, modelId);
    if (!model) throw new Error(`pi did not register model ${modelId}`);
    return model;
  }

  #loadSkills(): PiSkills {
    mark("skillsRead");
    const dir = this.#config.paths.skills;
    if (!existsSync(dir)) return { skills: [], diagnostics: [] };
    return this.#pi.loadSkillsFromDir({ dir, source: "nestbox" });
  }

  /** A ResourceLoader with no discovery: our prompt, our skills, the two AGENTS.md files, no extensions. */
  #resourceLoader(): Record<string, unknown> {
    const { pi, config, skills } = { pi: this.#pi, config: this.#config, skills: this.#skills };
    const systemPrompt = buildSystemPrompt(config);
    return {
      getExtensions: () => ({ extensions: [], errors: [], runtime: pi.createExtensionRuntime() }),
      getSkills: () => skills,
      getPrompts: () => ({ prompts: [], diagnostics: [] }),
      getThemes: () => ({ themes: [], diagnostics: [] }),
      getAgentsFiles: () => ({ agentsFiles: readMemoryFiles(config) }),
      getSystemPrompt: () => systemPrompt,
      getAppendSystemPrompt: () => [],
      extendResources: () => {},
      reload: async () => {},
    };
  }
}

/** Global memory first, then the chat's own (more specific last). Missing files are skipped. */
function readMemoryFiles(config: RunnerConfig): { path: string; content: string }[] {
  mark("memoryRead");
  const files = [];
  for (const dir of [config.paths.global, config.paths.group]) {
    const path = join(dir, "AGENTS.md");
    try {
      files.push({ path, content: readFileSync(path, "utf8") });
    } catch {
      // no memory yet
    }
  }
  return files;
}

function findSessionFile(dir: string, sessionId: string): string | null {
  if (!SESSION_ID_PATTERN.test(sessionId) || !existsSync(dir)) return null;
  const suffix = `_${sessionId}.jsonl`;
  const name = readdirSync(dir)
    .filter((entry) => entry.endsWith(suffix))
    .sort()
    .at(-1);
  return name ? join(dir, name) : null;
}

function lastStop(message: PiAssistantMessage | null): string | undefined {
  return message?.stopReason;
}

function textOf(message: PiAssistantMessage): string {
  return message.content
    .filter((block) => block.type === "text")
    .map((block) => block.text)
    .join("\n")
    .trim();
}

function clip(text: string): string {
  return text.length > MAX_REPLY_CHARS ? `${text.slice(0, MAX_REPLY_CHARS)}\n[truncated]` : text;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
