import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig, parseDuration, readEnvironment } from "./config.js";
import { ConfigError } from "./errors.js";

describe("loadConfig", () => {
  it("has working defaults with an empty environment", () => {
    const c = loadConfig({}, "/srv/nb");
    expect(c).toMatchObject({
      assistantName: "Andy",
      dataDir: "/srv/nb/data",
      maxConcurrentAgents: 5,
      agentIdleTimeoutMs: 600_000,
      agentTurnTimeoutMs: 600_000,
      logLevel: "info",
      agentNetwork: "open",
      model: null,
      telegram: null,
    });
  });

  it("takes AGENT_NETWORK=internal and refuses anything but open or internal", () => {
    expect(loadConfig({ AGENT_NETWORK: "internal" }).agentNetwork).toBe("internal");
    expect(() => loadConfig({ AGENT_NETWORK: "none" })).toThrow(
      /AGENT_NETWORK: must be open .* or internal .*, got "none"/,
    );
  });

  it("lists every bad variable at once, each with what to set", () => {
    let error: unknown;
    try {
      loadConfig({
        ASSISTANT_NAME: "two words",
        MAX_CONCURRENT_AGENTS: "0",
        AGENT_TURN_TIMEOUT: "soon",
        LOG_LEVEL: "loud",
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const issues = (error as ConfigError).issues;
    expect(issues).toHaveLength(4);
    expect(issues.join("\n")).toMatch(/ASSISTANT_NAME: must be one word/);
    expect(issues.join("\n")).toMatch(/MAX_CONCURRENT_AGENTS: must be a whole number from 1 to 64, got "0"/);
    expect(issues.join("\n")).toMatch(/AGENT_TURN_TIMEOUT: must be a duration like 30s, 10m/);
    expect(issues.join("\n")).toMatch(/LOG_LEVEL/);
  });

  it("resolves an OpenAI-compatible model from OPENAI_BASE_URL", () => {
    const c = loadConfig({ MODEL: "llama3.1:8b", OPENAI_BASE_URL: "http://localhost:11434/v1/" });
    expect(c.model).toEqual({
      provider: "openai",
      name: "llama3.1:8b",
      baseUrl: "http://localhost:11434/v1",
      apiKey: "",
    });
  });

  it("resolves Anthropic from ANTHROPIC_API_KEY", () => {
    const c = loadConfig({ MODEL: "claude-sonnet-4-5", ANTHROPIC_API_KEY: "sk-ant-x" });
    expect(c.model).toMatchObject({ provider: "anthropic", apiKey: "sk-ant-x" });
  });

  it("says which variables to set for a half-configured model", () => {
    expect(() => loadConfig({ OPENAI_API_KEY: "sk" })).toThrow(/MODEL: set the model name/);
    expect(() => loadConfig({ MODEL: "x" })).toThrow(
      /set ANTHROPIC_API_KEY, or OPENAI_API_KEY \/ OPENAI_BASE_URL/,
    );
    expect(() => loadConfig({ MODEL: "x", OPENAI_BASE_URL: "ftp://x" })).toThrow(
      /OPENAI_BASE_URL: must be an http\(s\) URL/,
    );
  });

  it("reads the credential proxy's body cap in MB (default 8)", () => {
    expect(loadConfig({}).credentialProxy.maxBodyBytes).toBe(8 * 1024 * 1024);
    expect(loadConfig({ CREDENTIAL_PROXY_MAX_BODY_MB: "32" }).credentialProxy.maxBodyBytes).toBe(
      32 * 1024 * 1024,
    );
    expect(() => loadConfig({ CREDENTIAL_PROXY_MAX_BODY_MB: "0" })).toThrow(
      /CREDENTIAL_PROXY_MAX_BODY_MB: must be a whole number from 1 to 1024/,
    );
  });

  it("reads the health endpoint: loopback port 4100 by default, 0 for any port, off switch, validated", () => {
    expect(loadConfig({}).health).toEqual({ host: "127.0.0.1", port: 4100 });
    expect(loadConfig({ NESTBOX_HEALTH_PORT: "0", NESTBOX_HEALTH_HOST: "0.0.0.0" }).health).toEqual({
      host: "0.0.0.0",
      port: 0,
    });
    expect(loadConfig({ NESTBOX_HEALTH: "off" }).health).toBeNull();
    expect(() => loadConfig({ NESTBOX_HEALTH_PORT: "70000" })).toThrow(
      /NESTBOX_HEALTH_PORT: must be a whole number from 0 to 65535/,
    );
    expect(() => loadConfig({ NESTBOX_HEALTH: "no" })).toThrow(/NESTBOX_HEALTH: must be on or off, got "no"/);
    expect(() => loadConfig({ NESTBOX_HEALTH_HOST: "localhost" })).toThrow(
      /NESTBOX_HEALTH_HOST: must be an IP/,
    );
  });

  it("reads the task limits: 1m, 20 per chat, 3 failures by default; each validated with what to set", () => {
    expect(loadConfig({}).tasks).toEqual({ minIntervalMs: 60_000, maxPerChat: 20, maxFailures: 3 });
    expect(
      loadConfig({ TASK_MIN_INTERVAL: "1s", TASK_MAX_PER_CHAT: "1000", TASK_MAX_FAILURES: "1" }).tasks,
    ).toEqual({ minIntervalMs: 1000, maxPerChat: 1000, maxFailures: 1 });
    expect(loadConfig({ TASK_MIN_INTERVAL: "1h30m" }).tasks.minIntervalMs).toBe(5_400_000);
    expect(loadConfig({ TASK_MIN_INTERVAL: "120000" }).tasks.minIntervalMs).toBe(120_000);
    let error: unknown;
    try {
      loadConfig({ TASK_MIN_INTERVAL: "500ms", TASK_MAX_PER_CHAT: "0", TASK_MAX_FAILURES: "101" });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues).toEqual([
      'TASK_MIN_INTERVAL: must be a duration of at least 1s like 30s, 1m, 1h30m or 60000 (ms), got "500ms"',
      'TASK_MAX_PER_CHAT: must be a whole number from 1 to 1000, got "0"',
      'TASK_MAX_FAILURES: must be a whole number from 1 to 100, got "101"',
    ]);
    expect(() => loadConfig({ TASK_MIN_INTERVAL: "often" })).toThrow(
      /TASK_MIN_INTERVAL: must be a duration of at least 1s .*, got "often"/,
    );
  });

  it("treats blank variables as unset", () => {
    expect(loadConfig({ TELEGRAM_BOT_TOKEN: "  ", MAX_CONCURRENT_AGENTS: "" }).telegram).toBeNull();
  });

  it("puts the mount allowlist in the user's config dir, outside data/, and lists what mounts must avoid", () => {
    const c = loadConfig({ HOME: "/home/me", DOCKER_HOST: "unix:///srv/docker.sock" }, "/srv/nb");
    expect(c.mounts.allowlistFile).toBe("/home/me/.config/nestbox/mount-allowlist.json");
    expect(c.mounts.homes).toEqual(expect.arrayContaining(["/home/me", "/root"]));
    expect(c.mounts.dockerSockets).toEqual(
      expect.arrayContaining([
        "/var/run/docker.sock",
        "/run/docker.sock",
        "/srv/docker.sock",
        "/home/me/.docker/run/docker.sock",
      ]),
    );
    expect(c.mounts.protectedFiles).toEqual(["/srv/nb/.env"]);
    const xdg = loadConfig({ HOME: "/home/me", XDG_CONFIG_HOME: "/cfg", XDG_RUNTIME_DIR: "/run/user/7" });
    expect(xdg.mounts.allowlistFile).toBe("/cfg/nestbox/mount-allowlist.json");
    expect(xdg.mounts.dockerSockets).toContain("/run/user/7/docker.sock");
    expect(loadConfig({ NESTBOX_MOUNT_ALLOWLIST: "/etc/nb/allow.json" }).mounts.allowlistFile).toBe(
      "/etc/nb/allow.json",
    );
  });

  it("refuses a relative NESTBOX_MOUNT_ALLOWLIST or one inside the data folder", () => {
    expect(() => loadConfig({ NESTBOX_MOUNT_ALLOWLIST: "allow.json" })).toThrow(
      /NESTBOX_MOUNT_ALLOWLIST: must be the absolute path of a JSON file outside the data folder/,
    );
    expect(() => loadConfig({ NESTBOX_MOUNT_ALLOWLIST: "/srv/nb/data/allow.json" }, "/srv/nb")).toThrow(
      /NESTBOX_MOUNT_ALLOWLIST: \/srv\/nb\/data\/allow.json lies inside the data folder/,
    );
    expect(() => loadConfig({ XDG_CONFIG_HOME: "/srv/nb/data" }, "/srv/nb")).toThrow(
      /lies inside the data folder/,
    );
  });

  it("parses durations", () => {
    expect(parseDuration("90s")).toBe(90_000);
    expect(parseDuration("2h")).toBe(7_200_000);
    expect(parseDuration("1500")).toBe(1500);
    expect(parseDuration("1.5m")).toBeNull();
  });
});

describe("readEnvironment", () => {
  it("fills in .env beneath the process environment", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "nestbox-env-"));
    writeFileSync(path.join(dir, ".env"), "ASSISTANT_NAME=Bob\nLOG_LEVEL=debug\n");
    const env = readEnvironment({ LOG_LEVEL: "warn" }, dir);
    expect(env).toMatchObject({ ASSISTANT_NAME: "Bob", LOG_LEVEL: "warn" });
    rmSync(dir, { recursive: true });
  });
});
