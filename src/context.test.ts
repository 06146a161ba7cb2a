import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { CommandIO } from "./cli/io.js";
import { type Context, loadContext } from "./context.js";
import { ConfigError } from "./errors.js";

let cwd: string;
beforeEach(() => {
  cwd = mkdtempSync(path.join(tmpdir(), "nestbox-context-"));
});
afterEach(() => rmSync(cwd, { recursive: true, force: true }));

const io = (env: Record<string, string | undefined> = {}): CommandIO => ({
  stdout: { write: () => true },
  stderr: { write: () => true },
  env,
  cwd,
});
/** A machine with no container, no CA bundle directory: only the files the test writes count. */
const detection = { hostname: () => "laptop", listDir: () => [] };
const load = (env: Record<string, string | undefined> = {}, interactive = false) =>
  loadContext(io(env), { interactive, detection });
const PEM = "-----BEGIN CERTIFICATE-----\nMIIBtest\n-----END CERTIFICATE-----\n";

/** .env.example's variables, set or shown as `# KEY=value` examples. */
function exampleKeys(): string[] {
  const text = readFileSync(path.join(import.meta.dirname, "..", ".env.example"), "utf8");
  return [...text.matchAll(/^#? ?([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1] as string);
}

interface Case {
  /** The non-default value written to .env. */
  value: string | (() => string);
  /** Other variables the case needs (a model name for the provider variables). */
  with?: Record<string, string>;
  check: (c: Context, value: string) => void;
}

const MODEL = { MODEL: "m1", OPENAI_BASE_URL: "http://llm.test:1/v1" };
const cases: Record<string, Case> = {
  ASSISTANT_NAME: { value: "Zed", check: (c) => expect(c.config.assistantName).toBe("Zed") },
  TZ: { value: "Asia/Tokyo", check: (c) => expect(c.config.timezone).toBe("Asia/Tokyo") },
  MODEL: { value: "m1", with: MODEL, check: (c) => expect(c.config.model?.name).toBe("m1") },
  OPENAI_BASE_URL: {
    value: "http://llm.test:9/v1",
    with: { MODEL: "m1" },
    check: (c, v) => expect(c.config.model).toMatchObject({ provider: "openai", baseUrl: v }),
  },
  OPENAI_API_KEY: {
    value: "sk-x",
    with: { MODEL: "m1" },
    check: (c) => expect(c.config.model).toMatchObject({ provider: "openai", apiKey: "sk-x" }),
  },
  ANTHROPIC_API_KEY: {
    value: "sk-ant-x",
    with: { MODEL: "m1" },
    check: (c) => expect(c.config.model).toMatchObject({ provider: "anthropic", apiKey: "sk-ant-x" }),
  },
  ANTHROPIC_BASE_URL: {
    value: "http://anthropic.test:2",
    with: { MODEL: "m1" },
    check: (c, v) => expect(c.config.model).toMatchObject({ provider: "anthropic", baseUrl: v }),
  },
  // Both kinds of key set: without MODEL_PROVIDER, Anthropic would win.
  MODEL_PROVIDER: {
    value: "openai",
    with: { MODEL: "m1", ANTHROPIC_API_KEY: "a", OPENAI_API_KEY: "o" },
    check: (c) => expect(c.config.model?.provider).toBe("openai"),
  },
  CREDENTIAL_PROXY_MAX_BODY_MB: {
    value: "3",
    check: (c) => expect(c.config.credentialProxy.maxBodyBytes).toBe(3 * 1024 * 1024),
  },
  NESTBOX_HEALTH: { value: "off", check: (c) => expect(c.config.health).toBeNull() },
  NESTBOX_HEALTH_PORT: { value: "4242", check: (c) => expect(c.config.health?.port).toBe(4242) },
  NESTBOX_HEALTH_HOST: { value: "0.0.0.0", check: (c) => expect(c.config.health?.host).toBe("0.0.0.0") },
  TELEGRAM_BOT_TOKEN: { value: "1:abc", check: (c) => expect(c.config.telegram?.botToken).toBe("1:abc") },
  TELEGRAM_API_ROOT: {
    value: "http://tg.test:8081",
    with: { TELEGRAM_BOT_TOKEN: "1:abc" },
    check: (c, v) => expect(c.config.telegram?.apiRoot).toBe(v),
  },
  MAX_CONCURRENT_AGENTS: { value: "7", check: (c) => expect(c.config.maxConcurrentAgents).toBe(7) },
  AGENT_IDLE_TIMEOUT: { value: "90s", check: (c) => expect(c.config.agentIdleTimeoutMs).toBe(90_000) },
  AGENT_TURN_TIMEOUT: { value: "2m", check: (c) => expect(c.config.agentTurnTimeoutMs).toBe(120_000) },
  AGENT_IMAGE: { value: "mine:1", check: (c) => expect(c.config.agentImage).toBe("mine:1") },
  AGENT_BASE_IMAGE: { value: "base:1", check: (c) => expect(c.config.agentBaseImage).toBe("base:1") },
  AGENT_MEMORY_MB: { value: "512", check: (c) => expect(c.config.agentLimits.memoryMb).toBe(512) },
  AGENT_CPUS: { value: "2.5", check: (c) => expect(c.config.agentLimits.cpus).toBe(2.5) },
  AGENT_PIDS: { value: "128", check: (c) => expect(c.config.agentLimits.pids).toBe(128) },
  AGENT_DISK_MB: { value: "100", check: (c) => expect(c.config.disk.chatLimitMb).toBe(100) },
  STORE_RESERVE_MB: { value: "64", check: (c) => expect(c.config.disk.reserveMb).toBe(64) },
  NESTBOX_MOUNT_ALLOWLIST: {
    value: "/etc/nestbox-test/allow.json",
    check: (c, v) => expect(c.config.mounts.allowlistFile).toBe(v),
  },
  AGENT_NETWORK: { value: "internal", check: (c) => expect(c.config.agentNetwork).toBe("internal") },
  AGENT_RUNTIME: {
    value: "swarm",
    check: (c) => {
      expect(c.config.cluster.runtime.kind).toBe("swarm");
      // Agents run on the swarm; images and probes still go to the engine itself.
      expect(c.agents).not.toBe(c.docker);
      expect(c.agents.transport).toBe("dial");
    },
  },
  AGENT_DIAL_PORT: { value: "4200", check: (c) => expect(c.config.cluster.dialPort).toBe(4200) },
  CREDENTIAL_PROXY_PORT: { value: "4201", check: (c) => expect(c.config.cluster.proxyPort).toBe(4201) },
  SWARM_PLACEMENT: {
    value: "node.labels.nestbox==agents",
    with: { AGENT_RUNTIME: "swarm" },
    check: (c) =>
      expect(c.config.cluster.runtime).toMatchObject({ placement: ["node.labels.nestbox==agents"] }),
  },
  SWARM_VOLUME_DRIVER: {
    value: "local",
    with: { AGENT_RUNTIME: "swarm" },
    check: (c) => expect(c.config.cluster.runtime).toMatchObject({ volumeDriver: { name: "local" } }),
  },
  SWARM_VOLUME_OPTIONS: {
    value: "type=nfs;o=addr=10.0.0.5,rw,nfsvers=4;device=:/srv/nestbox",
    with: { AGENT_RUNTIME: "swarm" },
    check: (c) =>
      expect(c.config.cluster.runtime).toMatchObject({
        volumeDriver: { options: { type: "nfs", o: "addr=10.0.0.5,rw,nfsvers=4", device: ":/srv/nestbox" } },
      }),
  },
  SWARM_SUBNET: {
    value: "10.214.0.0/24",
    with: { AGENT_RUNTIME: "swarm" },
    check: (c) => expect(c.config.cluster.runtime).toMatchObject({ subnet: "10.214.0.0/24" }),
  },
  SWARM_HOST_ADDRESS: {
    value: "192.168.1.10",
    with: { AGENT_RUNTIME: "swarm" },
    check: (c) => expect(c.config.cluster.runtime).toMatchObject({ hostAddress: "192.168.1.10" }),
  },
  CATCHUP_MAX_MESSAGES: { value: "9", check: (c) => expect(c.config.catchupMaxMessages).toBe(9) },
  CATCHUP_MAX_CHARS: { value: "999", check: (c) => expect(c.config.catchupMaxChars).toBe(999) },
  NESTBOX_DATA_DIR: {
    value: "./state",
    check: (c) => expect(c.config.dataDir).toBe(path.join(cwd, "state")),
  },
  // Set in .env, it holds at an interactive terminal too (the quieter default is only a default).
  LOG_LEVEL: {
    value: "debug",
    check: (c) => {
      expect(c.config.logLevel).toBe("debug");
      expect(c.log.level).toBe("debug");
    },
  },
  NESTBOX_LOG_FILE: {
    value: "./logs/host.log",
    check: (c) => {
      expect(c.logFile).toBe(path.join(cwd, "logs", "host.log"));
      // Loaded as at a terminal (warnings on screen): info reaches the file alone.
      c.log.info("to the file");
      expect(readFileSync(path.join(cwd, "logs", "host.log"), "utf8")).toMatch(/"msg":"to the file"/);
    },
  },
  LOG_FORMAT: { value: "pretty", check: (c) => expect(c.config.logFormat).toBe("pretty") },
  MODEL_RETRY_WINDOW: {
    value: "90s",
    check: (c) => expect(c.config.credentialProxy.retryWindowMs).toBe(90_000),
  },
  MODEL_STALL_TIMEOUT: {
    value: "20s",
    check: (c) => expect(c.config.credentialProxy.stallTimeoutMs).toBe(20_000),
  },
  TASK_MIN_INTERVAL: { value: "1h30m", check: (c) => expect(c.config.tasks.minIntervalMs).toBe(5_400_000) },
  TASK_MAX_PER_CHAT: { value: "5", check: (c) => expect(c.config.tasks.maxPerChat).toBe(5) },
  TASK_MAX_FAILURES: { value: "7", check: (c) => expect(c.config.tasks.maxFailures).toBe(7) },
  HTTPS_PROXY: {
    value: "http://proxy.test:3128",
    check: (c, v) => expect(c.sandbox.proxy.httpsProxy).toBe(v),
  },
  HTTP_PROXY: { value: "http://proxy.test:3129", check: (c, v) => expect(c.sandbox.proxy.httpProxy).toBe(v) },
  NO_PROXY: {
    value: "a.test,b.test",
    check: (c) => expect(c.sandbox.proxy.noProxy).toEqual(["a.test", "b.test"]),
  },
  NODE_EXTRA_CA_CERTS: {
    value: () => writeFile("extra.pem", PEM),
    check: (c, v) => {
      expect(c.sandbox.caFiles).toEqual([v]);
      expect(c.sandbox.caCertificates).toHaveLength(1);
    },
  },
  SSL_CERT_FILE: {
    value: () => writeFile("bundle.pem", PEM),
    check: (c, v) => expect(c.sandbox.caFiles).toEqual([v]),
  },
  DOCKER_HOST: {
    value: "unix:///srv/test/docker.sock",
    check: (c) => {
      expect(c.sandbox.dockerHost).toBe("unix:///srv/test/docker.sock");
      expect(c.config.mounts.dockerSockets).toContain("/srv/test/docker.sock");
    },
  },
  NESTBOX_HOST_DATA_DIR: {
    value: "/srv/nb/data",
    check: (c) => expect(c.config.hostDataDir).toBe("/srv/nb/data"),
  },
};

function writeFile(name: string, text: string): string {
  const file = path.join(cwd, name);
  writeFileSync(file, text);
  return file;
}

describe("loadContext", () => {
  it("has a case for every variable .env.example names, and no other", () => {
    expect(exampleKeys().sort()).toEqual(Object.keys(cases).sort());
  });

  it.each(Object.keys(cases))("takes %s from a .env file", (key) => {
    const c = cases[key] as Case;
    const value = typeof c.value === "function" ? c.value() : c.value;
    const lines = Object.entries({ ...c.with, [key]: value }).map(([k, v]) => `${k}=${v}`);
    writeFileSync(path.join(cwd, ".env"), `${lines.join("\n")}\n`);
    // At an interactive terminal: the case where start used to read LOG_LEVEL from the raw environment.
    c.check(load({}, true), value);
  });

  it("lets the process environment win over .env", () => {
    writeFileSync(path.join(cwd, ".env"), "HTTPS_PROXY=http://file.test:1\nASSISTANT_NAME=Bob\n");
    const c = load({ HTTPS_PROXY: "http://env.test:2" });
    expect(c.sandbox.proxy.httpsProxy).toBe("http://env.test:2");
    expect(c.config.assistantName).toBe("Bob");
    expect(c.env.HTTPS_PROXY).toBe("http://env.test:2");
  });

  it("as a service, logs also go to data/logs/nestbox.log unless NESTBOX_LOG_FILE says where", () => {
    const c = loadContext(io(), { detection, service: true, logDestination: { write: () => {} } });
    expect(c.logFile).toBe(path.join(cwd, "data", "logs", "nestbox.log"));
    c.log.info("service line");
    expect(readFileSync(path.join(cwd, "data", "logs", "nestbox.log"), "utf8")).toMatch(
      /"msg":"service line"/,
    );
    expect(load().logFile).toBeNull();
  });

  it("at an interactive terminal the log file keeps the configured level (info), the screen shows warnings", () => {
    const lines: string[] = [];
    const screen = { write: (l: string) => void lines.push(l) };
    const c = loadContext(io({ NESTBOX_LOG_FILE: "host.log" }), {
      interactive: true,
      detection,
      logDestination: screen,
    });
    c.log.info("only in the file");
    c.log.warn("on both");
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(["on both"]);
    const file = readFileSync(path.join(cwd, "host.log"), "utf8");
    expect(file).toMatch(/"msg":"only in the file"[\s\S]*"msg":"on both"/);
  });

  it("keeps an interactive terminal quiet unless LOG_LEVEL is set", () => {
    expect(load({}, true).log.level).toBe("warn");
    expect(load({}, false).log.level).toBe("info");
    expect(load({ LOG_LEVEL: "error" }, true).log.level).toBe("error");
  });

  it("refuses a relative NESTBOX_HOST_DATA_DIR, naming the variable", () => {
    writeFileSync(path.join(cwd, ".env"), "NESTBOX_HOST_DATA_DIR=srv/data\n");
    expect(() => load()).toThrow(ConfigError);
    expect(() => load()).toThrow(/NESTBOX_HOST_DATA_DIR: must be the absolute path/);
  });
});

describe("log format", () => {
  const logged = (env: Record<string, string>, tty: boolean) => {
    const lines: string[] = [];
    const stderr = Object.assign({ write: () => true }, tty ? { isTTY: true } : {});
    const { log } = loadContext(
      { ...io(env), stderr },
      { detection, logDestination: { write: (s: string) => lines.push(s) } },
    );
    log.info({ chatId: "tg:1" }, "hello");
    return lines.join("");
  };

  it("is one readable line when stderr is a terminal, JSON when it is not", () => {
    expect(logged({}, true)).toMatch(/^\d\d:\d\d:\d\d INFO {2}hello chatId=tg:1\n$/);
    expect(JSON.parse(logged({}, false))).toMatchObject({ msg: "hello", chatId: "tg:1" });
  });

  it("LOG_FORMAT=json keeps JSON at a terminal; LOG_FORMAT=pretty gives lines in a pipe", () => {
    expect(JSON.parse(logged({ LOG_FORMAT: "json" }, true))).toMatchObject({ msg: "hello" });
    expect(logged({ LOG_FORMAT: "pretty" }, false)).toMatch(/INFO {2}hello chatId=tg:1\n$/);
  });
});
