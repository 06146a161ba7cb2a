// The runner's configuration, read once from the environment the host gives the container.
// Node built-ins only: this runs before `ready` is sent, so it must stay cheap.

/** Thinking levels pi understands. */
const THINKING_LEVELS = ["off", "minimal", "low", "medium", "high", "xhigh"];

/** A configuration problem; `main.js` reports it as an `error` frame and exits. */
export class RunnerConfigError extends Error {
  constructor(message) {
    super(message);
    this.name = "RunnerConfigError";
    this.code = "bad_config";
  }
}

/**
 * @typedef {object} RunnerConfig
 * @property {"anthropic" | "openai"} provider  which wire format the model endpoint speaks
 * @property {string} model                     model id sent to the endpoint
 * @property {string} baseUrl                   the host's credential proxy (openai: ends in /v1)
 * @property {string} token                     per-container token sent as the API key
 * @property {string} assistantName
 * @property {string} thinkingLevel
 * @property {number | undefined} maxTokens
 * @property {number | undefined} contextWindow
 * @property {{ group: string, global: string, sessions: string, skills: string }} paths
 */

/**
 * Read and validate the runner's environment.
 * @param {Record<string, string | undefined>} env
 * @returns {RunnerConfig}
 */
export function loadRunnerConfig(env = process.env) {
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
  if (!THINKING_LEVELS.includes(thinkingLevel)) {
    throw new RunnerConfigError(`NESTBOX_MODEL_THINKING must be one of ${THINKING_LEVELS.join(", ")}`);
  }
  return {
    provider,
    model: String(env.NESTBOX_MODEL),
    baseUrl,
    token: String(env.NESTBOX_MODEL_TOKEN),
    assistantName: env.ASSISTANT_NAME || "Assistant",
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

function positiveInt(env, name) {
  const raw = env[name];
  if (raw === undefined || raw === "") return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    throw new RunnerConfigError(`${name} must be a positive integer, got "${raw}"`);
  }
  return value;
}

/** Proxy variables Node's fetch ignores unless a proxy dispatcher is installed. */
export const PROXY_VARIABLES = ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"];

/** @param {Record<string, string | undefined>} env */
export function hasProxy(env = process.env) {
  return PROXY_VARIABLES.some((name) => Boolean(env[name]));
}
