import { existsSync, readFileSync } from "node:fs";
import { isIP } from "node:net";
import { homedir, userInfo } from "node:os";
import path from "node:path";
import { parse as parseDotenv } from "dotenv";
import { z } from "zod";
import { type ClusterConfig, clusterConfig, clusterSchema } from "./cluster-config.js";
import { ConfigError } from "./errors.js";
import { parseDuration as parseTaskDuration } from "./tasks/duration.js";

/** Which wire format the model endpoint speaks. */
export type ModelProvider = "anthropic" | "openai";

/** The model every agent talks to (through the credential proxy). */
export interface ModelConfig {
  provider: ModelProvider;
  /** Model name as the upstream knows it, e.g. `claude-sonnet-4-5` or `llama3.1:8b`. */
  name: string;
  /** Upstream base URL (no trailing slash). */
  baseUrl: string;
  /** The real credential; never leaves the host. Empty for local servers that need none. */
  apiKey: string;
}

/** nestbox's validated configuration; read once at startup and passed down. */
export interface Config {
  assistantName: string;
  dataDir: string;
  /** `data/` as the Docker daemon sees it (nested or socket-mounted Docker), when it differs. */
  hostDataDir: string | null;
  maxConcurrentAgents: number;
  agentIdleTimeoutMs: number;
  agentTurnTimeoutMs: number;
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  /** NESTBOX_LOG_FILE: log lines also go to this file (rotated by size); null: only when run as a service. */
  logFile: string | null;
  /** LOG_FORMAT: `auto` (readable lines at a terminal, JSON otherwise), `json` or `pretty`. */
  logFormat: "auto" | "json" | "pretty";
  catchupMaxMessages: number;
  catchupMaxChars: number;
  timezone: string;
  agentImage: string;
  /** Base image for building the agent image; null uses the Dockerfile's default. */
  agentBaseImage: string | null;
  agentLimits: { memoryMb: number; cpus: number; pids: number };
  /** Disk: per-chat folder limit (AGENT_DISK_MB) and free space kept for the store (STORE_RESERVE_MB). */
  disk: { chatLimitMb: number; reserveMb: number };
  /** Agents' Docker network: `open` keeps internet egress, `internal` reaches only the host. */
  agentNetwork: "open" | "internal";
  /** null when no model is configured: commands that need one say which variables to set. */
  model: ModelConfig | null;
  telegram: { botToken: string; apiRoot: string } | null;
  /** Inputs of the extra-mount rule: the allowlist file and the places it always refuses. */
  mounts: { allowlistFile: string; homes: string[]; dockerSockets: string[]; protectedFiles: string[] };
  /** Caps of the credential proxy that the environment may change, and how it rides out model outages. */
  credentialProxy: { maxBodyBytes: number; retryWindowMs: number; stallTimeoutMs: number };
  /** The local health endpoint (`/healthz`, `/readyz`); null when NESTBOX_HEALTH=off. Port 0: any free port. */
  health: { host: string; port: number } | null;
  /** Scheduled tasks: shortest interval (TASK_MIN_INTERVAL), tasks per chat, failures in a row before a pause. */
  tasks: { minIntervalMs: number; maxPerChat: number; maxFailures: number };
  /** Where agents run (AGENT_RUNTIME) and the port agents that dial home use (docs/cluster.md). */
  cluster: ClusterConfig;
}

/** The health endpoint's port unless NESTBOX_HEALTH_PORT says otherwise. */
export const DEFAULT_HEALTH_PORT = 4100;

const DURATION = /^(\d+)(ms|s|m|h)?$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** Parses `600000`, `600s`, `10m`, `1h` into milliseconds; null when malformed. */
export function parseDuration(text: string): number | null {
  const m = DURATION.exec(text.trim());
  if (!m) return null;
  const unit = (m[2] ?? "ms") as keyof typeof UNIT_MS;
  return Number(m[1]) * UNIT_MS[unit];
}

const duration = (def: string) =>
  z
    .string()
    .default(def)
    .transform((v, ctx) => {
      const ms = parseDuration(v);
      if (ms === null || ms <= 0) {
        ctx.addIssue({
          code: "custom",
          message: `must be a duration like 30s, 10m or 600000 (ms), got "${v}"`,
        });
        return z.NEVER;
      }
      return ms;
    });

const intIn = (def: number, min: number, max: number) =>
  z
    .string()
    .default(String(def))
    .transform((v, ctx) => {
      const n = Number(v);
      if (!/^\d+$/.test(v.trim()) || n < min || n > max) {
        ctx.addIssue({ code: "custom", message: `must be a whole number from ${min} to ${max}, got "${v}"` });
        return z.NEVER;
      }
      return n;
    });

// The tasks' duration syntax (1h30m, 1d too), so TASK_MIN_INTERVAL reads like a schedule_value.
const taskInterval = z
  .string()
  .default("1m")
  .transform((v, ctx) => {
    let ms: number | null;
    try {
      ms = parseTaskDuration(v);
    } catch {
      ms = null;
    }
    if (ms === null || ms < 1000) {
      ctx.addIssue({
        code: "custom",
        message: `must be a duration of at least 1s like 30s, 1m, 1h30m or 60000 (ms), got "${v}"`,
      });
      return z.NEVER;
    }
    return ms;
  });

const url = z.url({
  protocol: /^https?$/,
  error: "must be an http(s) URL such as http://localhost:11434/v1",
});
const optional = (s: string | undefined) => (s === undefined || s.trim() === "" ? undefined : s.trim());

const schema = z.object({
  ASSISTANT_NAME: z
    .string()
    .default("Andy")
    .pipe(
      z
        .string()
        .regex(/^[A-Za-z][A-Za-z0-9_-]{0,31}$/, "must be one word of letters, digits, - or _ (e.g. Andy)"),
    ),
  NESTBOX_DATA_DIR: z.string().default("./data"),
  NESTBOX_HOST_DATA_DIR: z
    .string()
    .refine(
      (p) => path.posix.isAbsolute(p),
      "must be the absolute path of data/ as the Docker daemon sees it, e.g. /srv/nestbox/data",
    )
    .optional(),
  MAX_CONCURRENT_AGENTS: intIn(5, 1, 64),
  AGENT_IDLE_TIMEOUT: duration("10m"),
  AGENT_TURN_TIMEOUT: duration("10m"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  NESTBOX_LOG_FILE: z.string().optional(),
  LOG_FORMAT: z.enum(["auto", "json", "pretty"]).default("auto"),
  CATCHUP_MAX_MESSAGES: intIn(50, 1, 10_000),
  CATCHUP_MAX_CHARS: intIn(24_000, 200, 1_000_000),
  TZ: z.string().optional(),
  AGENT_IMAGE: z.string().min(1).default("nestbox-agent:latest"),
  AGENT_BASE_IMAGE: z.string().optional(),
  AGENT_MEMORY_MB: intIn(1024, 64, 1_048_576),
  AGENT_CPUS: z
    .string()
    .default("1")
    .transform((v, ctx) => {
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0 || n > 256) {
        ctx.addIssue({ code: "custom", message: `must be a number of CPUs like 0.5 or 2, got "${v}"` });
        return z.NEVER;
      }
      return n;
    }),
  AGENT_PIDS: intIn(256, 16, 65_536),
  AGENT_DISK_MB: intIn(2048, 16, 16_777_216),
  STORE_RESERVE_MB: intIn(512, 0, 1_048_576),
  AGENT_NETWORK: z
    .enum(["open", "internal"], {
      error: (i) =>
        `must be open (internet egress for tools) or internal (no egress: only the model, via nestbox), got "${String(i.input)}"`,
    })
    .default("open"),
  MODEL: z.string().optional(),
  MODEL_PROVIDER: z.enum(["anthropic", "openai"]).optional(),
  ANTHROPIC_API_KEY: z.string().optional(),
  ANTHROPIC_BASE_URL: url.optional(),
  OPENAI_API_KEY: z.string().optional(),
  OPENAI_BASE_URL: url.optional(),
  TELEGRAM_BOT_TOKEN: z.string().optional(),
  TELEGRAM_API_ROOT: url.optional(),
  NESTBOX_MOUNT_ALLOWLIST: z
    .string()
    .refine(
      (p) => path.isAbsolute(p),
      "must be the absolute path of a JSON file outside the data folder, e.g. /home/me/.config/nestbox/mount-allowlist.json",
    )
    .optional(),
  HOME: z.string().optional(),
  XDG_CONFIG_HOME: z.string().optional(),
  XDG_RUNTIME_DIR: z.string().optional(),
  DOCKER_HOST: z.string().optional(),
  CREDENTIAL_PROXY_MAX_BODY_MB: intIn(8, 1, 1024),
  MODEL_RETRY_WINDOW: duration("2m"),
  MODEL_STALL_TIMEOUT: duration("45s"),
  TASK_MIN_INTERVAL: taskInterval,
  TASK_MAX_PER_CHAT: intIn(20, 1, 1000),
  TASK_MAX_FAILURES: intIn(3, 1, 100),
  NESTBOX_HEALTH: z
    .enum(["on", "off"], { error: (i) => `must be on or off, got "${String(i.input)}"` })
    .default("on"),
  NESTBOX_HEALTH_PORT: intIn(DEFAULT_HEALTH_PORT, 0, 65_535),
  NESTBOX_HEALTH_HOST: z
    .string()
    .default("127.0.0.1")
    .refine(
      (h) => isIP(h) !== 0,
      "must be an IP address to listen on: 127.0.0.1 (this machine only, the default) or 0.0.0.0 (every interface)",
    ),
  ...clusterSchema,
});

/** Every variable {@link loadConfig} reads (the typo check compares unknown names against these). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(schema.shape);

/** Validates the environment once; throws a ConfigError listing every bad variable and what to set. */
export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  cwd = process.cwd(),
): Config {
  const cleaned = Object.fromEntries(
    Object.keys(schema.shape).map((k) => [k, optional(env[k])] as const),
  ) as Record<string, string | undefined>;
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`));
  }
  const e = parsed.data;
  const problems: string[] = [];
  const model = resolveModel(e, problems);
  const dataDir = path.resolve(cwd, e.NESTBOX_DATA_DIR);
  const mounts = mountSettings(e, cwd);
  const rel = path.relative(dataDir, mounts.allowlistFile);
  if (rel !== ".." && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel)) {
    problems.push(
      `NESTBOX_MOUNT_ALLOWLIST: ${mounts.allowlistFile} lies inside the data folder ${dataDir}, where agents write; put it outside, e.g. in ~/.config/nestbox/`,
    );
  }
  if (e.MODEL_RETRY_WINDOW > 4 * 60_000) {
    problems.push(
      `MODEL_RETRY_WINDOW: at most 4m (agents' HTTP clients give up on a silent request after 5 minutes), got ${e.MODEL_RETRY_WINDOW / 1000}s`,
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    assistantName: e.ASSISTANT_NAME,
    dataDir,
    hostDataDir: e.NESTBOX_HOST_DATA_DIR ?? null,
    maxConcurrentAgents: e.MAX_CONCURRENT_AGENTS,
    agentIdleTimeoutMs: e.AGENT_IDLE_TIMEOUT,
    agentTurnTimeoutMs: e.AGENT_TURN_TIMEOUT,
    logLevel: e.LOG_LEVEL,
    logFile: e.NESTBOX_LOG_FILE ? path.resolve(cwd, e.NESTBOX_LOG_FILE) : null,
    logFormat: e.LOG_FORMAT,
    catchupMaxMessages: e.CATCHUP_MAX_MESSAGES,
    catchupMaxChars: e.CATCHUP_MAX_CHARS,
    timezone: e.TZ ?? Intl.DateTimeFormat().resolvedOptions().timeZone,
    agentImage: e.AGENT_IMAGE,
    agentBaseImage: e.AGENT_BASE_IMAGE ?? null,
    agentLimits: { memoryMb: e.AGENT_MEMORY_MB, cpus: e.AGENT_CPUS, pids: e.AGENT_PIDS },
    disk: { chatLimitMb: e.AGENT_DISK_MB, reserveMb: e.STORE_RESERVE_MB },
    agentNetwork: e.AGENT_NETWORK,
    model,
    telegram: e.TELEGRAM_BOT_TOKEN
      ? {
          botToken: e.TELEGRAM_BOT_TOKEN,
          apiRoot: (e.TELEGRAM_API_ROOT ?? "https://api.telegram.org").replace(/\/+$/, ""),
        }
      : null,
    mounts,
    credentialProxy: {
      maxBodyBytes: e.CREDENTIAL_PROXY_MAX_BODY_MB * 1024 * 1024,
      retryWindowMs: e.MODEL_RETRY_WINDOW,
      stallTimeoutMs: e.MODEL_STALL_TIMEOUT,
    },
    health: e.NESTBOX_HEALTH === "off" ? null : { host: e.NESTBOX_HEALTH_HOST, port: e.NESTBOX_HEALTH_PORT },
    tasks: {
      minIntervalMs: e.TASK_MIN_INTERVAL,
      maxPerChat: e.TASK_MAX_PER_CHAT,
      maxFailures: e.TASK_MAX_FAILURES,
    },
    cluster: clusterConfig(e),
  };
}

type Env = z.infer<typeof schema>;

/**
 * Where the mount allowlist lives (NESTBOX_MOUNT_ALLOWLIST, else `$XDG_CONFIG_HOME/nestbox/` or
 * `~/.config/nestbox/`: outside the data folder agents write to) and what every mount must avoid.
 */
function mountSettings(e: Env, cwd: string): Config["mounts"] {
  const home = e.HOME && path.isAbsolute(e.HOME) ? e.HOME : homedir();
  let account: string[] = [];
  try {
    account = [userInfo().homedir];
  } catch {
    // no passwd entry (some containers): HOME and root's home still count
  }
  const homes = [...new Set([home, ...account, "/root"])];
  const configHome =
    e.XDG_CONFIG_HOME && path.isAbsolute(e.XDG_CONFIG_HOME) ? e.XDG_CONFIG_HOME : path.join(home, ".config");
  const unixHost = e.DOCKER_HOST?.startsWith("unix://") ? e.DOCKER_HOST.slice("unix://".length) : null;
  const dockerSockets = [
    "/var/run/docker.sock",
    "/run/docker.sock",
    ...(unixHost && path.isAbsolute(unixHost) ? [unixHost] : []),
    ...(e.XDG_RUNTIME_DIR && path.isAbsolute(e.XDG_RUNTIME_DIR)
      ? [path.join(e.XDG_RUNTIME_DIR, "docker.sock"), path.join(e.XDG_RUNTIME_DIR, "podman", "podman.sock")]
      : []),
    // Docker Desktop, Colima and Rancher Desktop keep theirs in the home folder.
    ...homes.flatMap((h) => [
      path.join(h, ".docker", "run", "docker.sock"),
      path.join(h, ".colima", "default", "docker.sock"),
      path.join(h, ".rd", "docker.sock"),
    ]),
  ];
  return {
    allowlistFile: e.NESTBOX_MOUNT_ALLOWLIST ?? path.join(configHome, "nestbox", "mount-allowlist.json"),
    homes,
    dockerSockets: [...new Set(dockerSockets)],
    protectedFiles: [path.join(cwd, ".env")],
  };
}

function resolveModel(e: Env, problems: string[]): ModelConfig | null {
  const provider: ModelProvider | undefined =
    e.MODEL_PROVIDER ??
    (e.ANTHROPIC_API_KEY || e.ANTHROPIC_BASE_URL
      ? "anthropic"
      : e.OPENAI_API_KEY || e.OPENAI_BASE_URL
        ? "openai"
        : undefined);
  if (!provider && !e.MODEL) return null;
  if (!provider) {
    problems.push(
      "MODEL is set but no provider is: set ANTHROPIC_API_KEY, or OPENAI_API_KEY / OPENAI_BASE_URL (any OpenAI-compatible server)",
    );
    return null;
  }
  if (!e.MODEL) {
    problems.push(
      provider === "anthropic"
        ? "MODEL: set the model name, e.g. MODEL=claude-sonnet-4-5"
        : "MODEL: set the model name your OpenAI-compatible server serves, e.g. MODEL=gpt-4o-mini or MODEL=llama3.1:8b",
    );
    return null;
  }
  if (provider === "anthropic") {
    if (!e.ANTHROPIC_API_KEY && !e.ANTHROPIC_BASE_URL) {
      problems.push(
        "ANTHROPIC_API_KEY: set your Anthropic API key (or ANTHROPIC_BASE_URL for a compatible server)",
      );
      return null;
    }
    return {
      provider,
      name: e.MODEL,
      baseUrl: (e.ANTHROPIC_BASE_URL ?? "https://api.anthropic.com").replace(/\/+$/, ""),
      apiKey: e.ANTHROPIC_API_KEY ?? "",
    };
  }
  if (!e.OPENAI_API_KEY && !e.OPENAI_BASE_URL) {
    problems.push(
      "OPENAI_API_KEY: set your OpenAI API key, or OPENAI_BASE_URL for a local server (Ollama, vLLM, llama.cpp)",
    );
    return null;
  }
  return {
    provider,
    name: e.MODEL,
    baseUrl: (e.OPENAI_BASE_URL ?? "https://api.openai.com/v1").replace(/\/+$/, ""),
    apiKey: e.OPENAI_API_KEY ?? "",
  };
}

/**
 * The process environment with `.env` (in `cwd`) filled in beneath it: variables already set win.
 * Returns a new object; nothing global changes.
 */
export function readEnvironment(
  env: Record<string, string | undefined> = process.env,
  cwd = process.cwd(),
): Record<string, string | undefined> {
  const file = path.join(cwd, ".env");
  if (!existsSync(file)) return { ...env };
  return { ...parseDotenv(readFileSync(file)), ...env };
}

/** The model settings, or a ConfigError naming exactly which variables to set. */
export function requireModel(config: Config): ModelConfig {
  if (config.model) return config.model;
  throw new ConfigError([
    "no model is configured. Set MODEL and one provider:",
    "  OpenAI-compatible server (Ollama, vLLM, llama.cpp): OPENAI_BASE_URL=http://host:port/v1 MODEL=<name>",
    "  OpenAI: OPENAI_API_KEY=sk-... MODEL=gpt-4o-mini",
    "  Anthropic: ANTHROPIC_API_KEY=sk-ant-... MODEL=claude-sonnet-4-5",
  ]);
}
