// The parts of pi (@mariozechner/pi-coding-agent) the runner uses, typed here: pi is loaded at run
// time from the image's own bundle, never imported by name, so its types are not at hand.
/** A block of a pi message (text, tool call, ...). */
export interface PiContentBlock {
  type: string;
  text?: string;
}
/** An assistant message as pi reports it at `message_end`. */
export interface PiAssistantMessage {
  role: string;
  content: PiContentBlock[];
  usage?: { input?: number; output?: number; cacheRead?: number; cacheWrite?: number };
  stopReason?: string;
  errorMessage?: string;
}
/** A pi AgentSession: one conversation, kept warm between turns. */
export interface PiSession {
  sessionId?: string;
  setActiveToolsByName(names: string[]): void;
  getActiveToolNames(): string[];
  subscribe(listener: (event: { type: string; message?: PiAssistantMessage }) => void): () => void;
  prompt(text: string, options: { expandPromptTemplates: boolean }): Promise<void>;
  abort(): Promise<void>;
  dispose(): void;
  /** The conversation tree: a failed turn is undone by moving its leaf back. */
  sessionManager: PiSessionManager;
  agent: { state: { messages: unknown[] } };
}
/** The parts of pi's SessionManager used to undo a failed turn. */
export interface PiSessionManager {
  getLeafId(): string | null;
  branch(entryId: string): void;
  resetLeaf(): void;
  appendCustomEntry(customType: string, data: unknown): string;
  buildSessionContext(): { messages: unknown[] };
}
/** What pi knows about a model. */
export interface PiModelInfo {
  name?: string;
  reasoning?: boolean;
  thinkingLevelMap?: unknown;
  input?: string[];
  cost?: { input: number; output: number; cacheRead: number; cacheWrite: number };
  contextWindow?: number;
  maxTokens?: number;
}
/** pi's in-memory model registry. */
export interface PiModelRegistry {
  find(provider: string, model: string): PiModelInfo | undefined;
  registerProvider(id: string, provider: Record<string, unknown>): void;
}
/** Skills loaded from a folder. */
export interface PiSkills {
  skills: { name: string }[];
  diagnostics: unknown[];
}
/** A custom tool registered with pi. */
export interface PiTool {
  name: string;
  label: string;
  description: string;
  parameters: Record<string, unknown>;
  /** Runs on the model's arguments before pi checks them against `parameters`; a throw is the model's error. */
  prepareArguments?(args: unknown): unknown;
  execute(
    toolCallId: string,
    params: Record<string, unknown>,
    signal?: AbortSignal,
  ): Promise<{ content: { type: "text"; text: string }[]; details: Record<string, never> }>;
}

/** The pi module as the runner uses it. */
export interface PiModule {
  VERSION?: string;
  AuthStorage: { inMemory(): { setRuntimeApiKey(provider: string, key: string): void } };
  ModelRegistry: { inMemory(auth: unknown): PiModelRegistry };
  SessionManager: {
    open(file: string, sessionsDir: string, cwd: string): unknown;
    create(cwd: string, sessionsDir: string): unknown;
  };
  SettingsManager: { inMemory(settings: Record<string, unknown>): unknown };
  createAgentSession(options: Record<string, unknown>): Promise<{ session: PiSession }>;
  createExtensionRuntime(): unknown;
  loadSkillsFromDir(options: { dir: string; source: string }): PiSkills;
}
