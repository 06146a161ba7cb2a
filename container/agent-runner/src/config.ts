// The runner's configuration, read once from the environment the host gives the container.
// Node built-ins only: this runs before `ready` is sent, so it must stay cheap.
import { AgentErrorCode } from "../../../src/protocol/error-codes.js";

/** Thinking levels pi understands. */
const THINKING_LEVELS = ["off", "minimal", "low", "medium", "high", "xhigh"] as const;

/** A pi thinking level. */
export type ThinkingLevel = (typeof THINKING_LEVELS)[number];

/** A configuration problem; `main.ts` reports it as an `error` frame and exits. */
export class RunnerConfigError extends Error {
  override readonly name = "RunnerConfigError";
  readonly code = AgentErrorCode.BadConfig;
}

/** What the runner needs to know, validated. */
export interface RunnerConfig {
  /** Which wire format the model endpoint speaks. */
  provider: "anthropic" | "openai";
  /** Model id sent to the endpoint. */
  model: string;
  /** The host's credential proxy (openai: ends in /v1). */
  baseUrl: string;
  /** Per-container token sent as the API key. */
  token: string;
  assistantName: string;
  /** The chat's time zone (the host sets TZ): schedules and times are read in it. */
  timezone: string;
  thinkingLevel: ThinkingLevel;
  maxTokens: number | undefined;
  contextWindow: number | undefined;
  paths: { group: string; global: string; sessions: string; skills: string };
}

type Env = Record<string, string | undefined>;

/** Read and validate the runner's environment. Throws RunnerConfigError. */
export function loadRunnerConfig(env: Env = process.env): RunnerConfig {
  const missing = [
    "NESTBOX_MODEL_PROVIDER",
    "NESTBOX_MODEL",
    "NESTBOX_MODEL_BASE_URL",
    "NESTBOX_MODEL_TOKEN",
  ].filter((name) => !env[name]);
  if (missing.length > 0) {
    throw new RunnerConfigError(`missing environment: ${missing.join(", ")} (the host sets these)`);
  }
  const provider = env.NESTBOX_MODEL_PROVIDER;
  if (provider !== "anthropic" && provider !== "openai") {
    throw new RunnerConfigError(`NESTBOX_MODEL_PROVIDER must be "anthropic" or "openai", got "${provider}"`);
  }
  const baseUrl = String(env.NESTBOX_MODEL_BASE_URL).replace(/\/+$/, "");
  if (!URL.canParse(baseUrl) || !/^https?:$/.test(new URL(baseUrl).protocol)) {
    throw new RunnerConfigError(`NESTBOX_MODEL_BASE_URL is not an http(s) URL: "${baseUrl}"`);
  }
  const thinkingLevel = env.NESTBOX_MODEL_THINKING || "off";
  if (!isThinkingLevel(thinkingLevel)) {
    throw new RunnerConfigError(`NESTBOX_MODEL_THINKING must be one of ${THINKING_LEVELS.join(", ")}`);
  }
  return {
    provider,
    model: String(env.NESTBOX_MODEL),
    baseUrl,
    token: String(env.NESTBOX_MODEL_TOKEN),
    assistantName: env.ASSISTANT_NAME || "Assistant",
    timezone: env.TZ || "UTC",
    thinkingLevel,
    maxTokens: positiveInt(env, "NESTBOX_MODEL_MAX_TOKENS"),
    contextWindow: positiveInt(env, "NESTBOX_MODEL_CONTEXT_WINDOW"),
    // Overridable so the runner can run as a plain process in tests; containers use the defaults.
    paths: {
      group: env.NESTBOX_GROUP_DIR || "/workspace/group",
      global: env.NESTBOX_GLOBAL_DIR || "/workspace/global",
      sessions: env.NESTBOX_SESSIONS_DIR || "/workspace/sessions",
      skills: env.NESTBOX_SKILLS_DIR || "/workspace/skills",
    },
  };
}

function isThinkingLevel(value: string): value is ThinkingLevel {
  return (THINKING_LEVELS as readonly string[]).includes(value);
}

function positiveInt(env: Env, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === "") return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    throw new RunnerConfigError(`${name} must be a positive integer, got "${raw}"`);
  }
  return value;
}

/** Proxy variables Node's fetch ignores unless a proxy dispatcher is installed. */
export const PROXY_VARIABLES = ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"] as const;

/** Whether any proxy variable is set. */
export function hasProxy(env: Env = process.env): boolean {
  return PROXY_VARIABLES.some((name) => Boolean(env[name]));
}
