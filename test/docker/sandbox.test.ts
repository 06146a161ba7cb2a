// The sandbox scenario of issue 5, end to end: nestbox runs inside a Docker-in-Docker container
// (`nestbox-sandbox`, its own inner Docker daemon) whose only way out is a TLS-intercepting proxy, as in
// Docker Sandboxes. The container gets nothing but HTTPS_PROXY/HTTP_PROXY/NO_PROXY and the proxy's CA
// file (NODE_EXTRA_CA_CERTS). The model (the scripted LLM) is reachable only as
// https://llm.nestbox.test through that proxy. Inside, the terminal channel's message goes to a nested
// agent container, whose model call crosses the credential proxy, then the MITM proxy, to the LLM.
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { DockerRuntime } from "../../src/containers/docker-runtime.js";
import { type MitmProxy, startMitmProxy } from "../doubles/mitm-proxy.js";
import { type ScriptedLlm, startScriptedLlm } from "../doubles/scripted-llm.js";
import { type LiveProcess, type RunOptions, runProcess, spawnProcess } from "../process.js";
import { AGENT_IMAGE, BASE_IMAGE, describeDocker } from "./support.js";

const ROOT = path.join(import.meta.dirname, "..", "..");
const SANDBOX_IMAGE = process.env.NESTBOX_TEST_SANDBOX_IMAGE ?? "nestbox-sandbox:test";
const SANDBOX = "nestbox-sandbox";
const HASH_LABEL = "nestbox.test.sandbox-hash";
const TEST_LABEL = "nestbox.test=sandbox";
const LLM_HOST = "llm.nestbox.test";
const SECRET = `sk-sandbox-real-key-${randomBytes(8).toString("hex")}`;
const REPLY = "Hello from inside the sandbox: this came through two proxies.";
/** Nested Docker where --privileged fails (cgroup v1 hosts like CI): see docs/sandboxes.md. */
const NESTED_DOCKER_FLAGS = [
  "--cap-add=ALL",
  "--cap-drop=SYS_RESOURCE",
  "--security-opt",
  "seccomp=unconfined",
  "--security-opt",
  "apparmor=unconfined",
  "--security-opt",
  "systempaths=unconfined",
  "--device-cgroup-rule=a *:* rwm",
  "--cgroupns=host",
  "-v",
  "/sys/fs/cgroup:/sys/fs/cgroup:rw",
];
/** What the sandbox image holds of the repository (copied to /opt/nestbox), and what it leaves out. */
const CONTEXT = [
  "package.json",
  "package-lock.json",
  "tsconfig.json",
  "src",
  "container",
  "skills",
  "node_modules",
  "test/docker/sandbox",
];
const EXCLUDED = [
  "container/agent-runner/node_modules",
  "node_modules/@biomejs",
  "node_modules/.vite",
  "node_modules/.cache",
];

// ---------------------------------------------------------------------------------------------------
// Processes

const docker = (args: string[], options?: RunOptions) => runProcess("docker", args, options);
/** A command run inside the sandbox container. */
const inSandbox = (args: string[], options?: RunOptions) => docker(["exec", SANDBOX, ...args], options);

/** TypeScript run inside the sandbox from /opt/nestbox (imports like `./src/store/index.js`). */
async function tsxInSandbox(code: string): Promise<string> {
  const r = await docker([
    "exec",
    "-w",
    "/opt/nestbox",
    SANDBOX,
    "node_modules/.bin/tsx",
    "--input-type=module",
    "--eval",
    code,
  ]);
  return r.stdout.trim();
}

/** `a | b`, both must succeed. */
function pipe(a: [string, string[]], b: [string, string[]], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    // The classic builder, like nestbox's own image builds (engine API): it always sees local images.
    const env = { ...process.env, DOCKER_BUILDKIT: "0" };
    const left = spawn(a[0], a[1], { env, stdio: ["ignore", "pipe", "pipe"] });
    const right = spawn(b[0], b[1], { env, stdio: ["pipe", "pipe", "pipe"] });
    left.stdout.pipe(right.stdin);
    let errors = "";
    let out = "";
    left.stderr.on("data", (d: Buffer) => {
      errors += d.toString();
    });
    right.stderr.on("data", (d: Buffer) => {
      errors += d.toString();
    });
    right.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    const codes: (number | null)[] = [];
    const timer = setTimeout(() => {
      left.kill("SIGKILL");
      right.kill("SIGKILL");
    }, timeoutMs);
    const done = (code: number | null) => {
      codes.push(code);
      if (codes.length < 2) return;
      clearTimeout(timer);
      if (codes.every((c) => c === 0)) resolve(out);
      else
        reject(
          new Error(`${a[0]} ${a[1].join(" ")} | ${b[0]} ${b[1].join(" ")} failed (${codes}): ${errors}`),
        );
    };
    left.on("close", done);
    right.on("close", done);
    left.on("error", reject);
    right.on("error", reject);
  });
}

// ---------------------------------------------------------------------------------------------------
// The sandbox image

function walk(rel: string, out: string[]): void {
  if (EXCLUDED.includes(rel)) return;
  const full = path.join(ROOT, rel);
  if (!existsSync(full)) return;
  if (statSync(full).isDirectory()) {
    for (const name of readdirSync(full).sort()) walk(`${rel}/${name}`, out);
  } else out.push(rel);
}

/** A hash of everything the image is built from (node_modules by its lockfile, not file by file). */
async function inputHash(): Promise<string> {
  const h = createHash("sha256");
  const base = await docker(["image", "inspect", "--format", "{{.Id}}", BASE_IMAGE]);
  h.update(`base ${base.stdout.trim()}\n`);
  const files: string[] = [];
  for (const entry of CONTEXT) {
    if (entry === "node_modules") walk("node_modules/.package-lock.json", files);
    else walk(entry, files);
  }
  for (const f of files) {
    h.update(`${f}\n`);
    h.update(readFileSync(path.join(ROOT, f)));
  }
  return h.digest("hex").slice(0, 24);
}

async function imageLabel(tag: string): Promise<string | null> {
  const r = await docker(["image", "inspect", "--format", `{{index .Config.Labels "${HASH_LABEL}"}}`, tag], {
    allowFail: true,
  });
  return r.code === 0 ? r.stdout.trim() : null;
}

/** Builds the sandbox image unless an image built from the same inputs exists. */
async function ensureSandboxImage(log: (line: string) => void): Promise<void> {
  const hash = await inputHash();
  const existing = await imageLabel(SANDBOX_IMAGE);
  if (existing === hash && process.env.NESTBOX_REBUILD_SANDBOX !== "1") {
    log(`sandbox image ${SANDBOX_IMAGE} is up to date (${hash})`);
    return;
  }
  const before = await docker(["image", "inspect", "--format", "{{.Id}}", SANDBOX_IMAGE], {
    allowFail: true,
  });
  log(`building ${SANDBOX_IMAGE} (${existing ? "inputs changed" : "missing"}; inputs ${hash})...`);
  const started = Date.now();
  const buildArgs = ["--build-arg", `BASE_IMAGE=${BASE_IMAGE}`];
  for (const name of ["HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"]) {
    if (process.env[name]) buildArgs.push("--build-arg", name);
  }
  await pipe(
    ["tar", ["-C", ROOT, "-c", ...EXCLUDED.map((e) => `--exclude=${e}`), ...CONTEXT]],
    [
      "docker",
      [
        "build",
        "--quiet",
        "-f",
        "test/docker/sandbox/Dockerfile",
        "-t",
        SANDBOX_IMAGE,
        "--label",
        `${HASH_LABEL}=${hash}`,
        ...buildArgs,
        "-",
      ],
    ],
    900_000,
  );
  log(`built ${SANDBOX_IMAGE} in ${Math.round((Date.now() - started) / 1000)} s`);
  const old = before.stdout.trim();
  if (before.code === 0 && old) {
    const now = await docker(["image", "inspect", "--format", "{{.Id}}", SANDBOX_IMAGE]);
    if (now.stdout.trim() !== old) await docker(["image", "rm", old], { allowFail: true });
  }
}

// ---------------------------------------------------------------------------------------------------
// The scenario

interface Inspected {
  Id: string;
  Name: string;
  Config: { Env: string[] | null; Labels: Record<string, string> | null };
  HostConfig: { ExtraHosts: string[] | null; NetworkMode: string };
  State: { Running: boolean; StartedAt: string; Status: string };
  RestartCount: number;
}

/** Every container of the inner daemon carrying `label` (a key, or key=value), fully inspected. */
async function innerContainers(label: string): Promise<Inspected[]> {
  const ids = (await inSandbox(["docker", "ps", "-aq", "--filter", `label=${label}`])).stdout
    .split("\n")
    .map((s) => s.trim())
    .filter(Boolean);
  if (ids.length === 0) return [];
  return JSON.parse((await inSandbox(["docker", "inspect", ...ids])).stdout) as Inspected[];
}

async function outerSandbox(): Promise<Inspected | null> {
  const r = await docker(["inspect", SANDBOX], { allowFail: true });
  return r.code === 0 ? ((JSON.parse(r.stdout) as Inspected[])[0] ?? null) : null;
}

const step = (line: string) => process.stderr.write(`[sandbox suite] ${line}\n`);

describeDocker("sandbox VM: nested Docker behind a TLS-intercepting proxy (issue 5)", () => {
  let llm: ScriptedLlm;
  let mitm: MitmProxy;
  let tmp = "";
  let volume = "";
  let proxyUrl = "";
  let sandboxId = "";
  let sandboxStartedAt = "";
  const processes: LiveProcess[] = [];

  /** `nestbox start` inside the sandbox, the terminal channel on its stdin/stdout. */
  const startNestbox = (dataDir: string, { trustCa }: { trustCa: boolean }): LiveProcess => {
    const env = {
      OPENAI_BASE_URL: `https://${LLM_HOST}/v1`,
      OPENAI_API_KEY: SECRET,
      MODEL: "scripted",
      AGENT_IMAGE,
      NESTBOX_DATA_DIR: dataDir,
      TZ: "UTC",
      LOG_LEVEL: "info",
      // The first test's host may still run beside the second's: each takes a free health port.
      NESTBOX_HEALTH_PORT: "0",
    };
    const script = `${trustCa ? "" : "unset NODE_EXTRA_CA_CERTS; "}cd /opt/nestbox && exec node_modules/.bin/tsx src/cli/nestbox.ts start`;
    const p = spawnProcess("docker", [
      "exec",
      "-i",
      ...Object.entries(env).flatMap(([k, v]) => ["-e", `${k}=${v}`]),
      SANDBOX,
      "sh",
      "-c",
      script,
    ]);
    processes.push(p);
    return p;
  };

  beforeAll(async () => {
    const t0 = Date.now();
    for (const image of [BASE_IMAGE, AGENT_IMAGE]) {
      const r = await docker(["image", "inspect", image], { allowFail: true });
      if (r.code !== 0)
        throw new Error(`${image} is missing: CI builds it first (.ci/run: base image, then agent image)`);
    }
    await ensureSandboxImage(step);

    llm = await startScriptedLlm({ format: "openai", host: "127.0.0.1", respond: () => ({ text: REPLY }) });
    mitm = await startMitmProxy({ forward: { [LLM_HOST]: `http://127.0.0.1:${llm.port}` } });
    tmp = mkdtempSync(path.join(tmpdir(), "nestbox-sandbox-"));
    const caFile = mitm.writeCa(path.join(tmp, "mitm-ca.pem"));
    const gateway = await new DockerRuntime().bridgeGateway();
    if (!gateway) throw new Error("the outer daemon's bridge network has no gateway address");
    proxyUrl = mitm.urlFor(gateway);

    // A leftover sandbox (an interrupted run) and its volumes go first.
    await docker(["rm", "-f", "-v", SANDBOX], { allowFail: true });
    const stale = (await docker(["volume", "ls", "-q", "--filter", `label=${TEST_LABEL}`])).stdout.split(
      "\n",
    );
    for (const v of stale.filter(Boolean)) await docker(["volume", "rm", v], { allowFail: true });
    volume = `nestbox-sandbox-docker-${Date.now().toString(36)}`;
    await docker(["volume", "create", "--label", TEST_LABEL, volume]);

    await docker([
      "run",
      "-d",
      "--name",
      SANDBOX,
      "--label",
      TEST_LABEL,
      "--init",
      ...NESTED_DOCKER_FLAGS,
      "-v",
      `${volume}:/var/lib/docker`,
      "--tmpfs",
      "/run",
      "-v",
      `${caFile}:/ca/mitm-ca.pem:ro`,
      // Exactly what Docker Sandboxes gives a VM: the proxy and its CA, nothing else.
      "-e",
      `HTTPS_PROXY=${proxyUrl}`,
      "-e",
      `HTTP_PROXY=${proxyUrl}`,
      "-e",
      "NO_PROXY=localhost,127.0.0.1",
      "-e",
      "NODE_EXTRA_CA_CERTS=/ca/mitm-ca.pem",
      SANDBOX_IMAGE,
    ]);
    const deadline = Date.now() + 90_000;
    for (;;) {
      const r = await inSandbox(["docker", "version", "--format", "{{.Server.Version}}"], {
        allowFail: true,
      });
      if (r.code === 0) break;
      const state = await outerSandbox();
      if (!state?.State.Running || Date.now() > deadline) {
        const logs = await docker(["logs", "--tail", "60", SANDBOX], { allowFail: true });
        throw new Error(`the sandbox's inner Docker daemon did not start:\n${logs.stdout}${logs.stderr}`);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    const outer = await outerSandbox();
    sandboxId = outer?.Id ?? "";
    sandboxStartedAt = outer?.State.StartedAt ?? "";
    step(`inner daemon up after ${Math.round((Date.now() - t0) / 1000)} s; loading ${AGENT_IMAGE}...`);
    await pipe(
      ["docker", ["save", AGENT_IMAGE]],
      ["docker", ["exec", "-i", SANDBOX, "docker", "load"]],
      600_000,
    );
    step(`sandbox ready after ${Math.round((Date.now() - t0) / 1000)} s (proxy ${proxyUrl})`);
  });

  afterAll(async () => {
    for (const p of processes) if (p.child.exitCode === null) p.child.kill("SIGKILL");
    await docker(["rm", "-f", "-v", SANDBOX], { allowFail: true });
    if (volume) await docker(["volume", "rm", volume], { allowFail: true });
    await mitm?.close().catch(() => {});
    await llm?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("detects the proxy, the CA and its own container from inside the sandbox", async () => {
    const detected = JSON.parse(
      await tsxInSandbox(
        'import { detectSandbox } from "./src/sandbox/index.js"; console.log(JSON.stringify(detectSandbox({ env: process.env })));',
      ),
    ) as {
      proxy: { httpProxy: string | null; httpsProxy: string | null; noProxy: string[] };
      caFiles: string[];
      ownContainerId: string | null;
    };
    expect(detected.proxy).toEqual({
      httpProxy: proxyUrl,
      httpsProxy: proxyUrl,
      noProxy: ["localhost", "127.0.0.1"],
    });
    expect(detected.caFiles).toContain("/ca/mitm-ca.pem");
    // The reaper is handed this id and never touches it, whatever the container's name.
    expect(detected.ownContainerId).not.toBeNull();
    expect(sandboxId.startsWith(detected.ownContainerId ?? "-")).toBe(true);
  });

  it("answers through credential proxy -> MITM proxy -> LLM; reaps only its own orphan; no container holds the key", async () => {
    const dataDir = "/var/lib/nestbox";
    // The install id lives in nestbox's SQLite: create the database and read it, as `start` will.
    const installId = await tsxInSandbox(
      `import { Store } from "./src/store/index.js"; import { mkdirSync } from "node:fs"; mkdirSync("${dataDir}", { recursive: true }); const s = Store.open("${dataDir}"); console.log(s.meta.installId()); s.close();`,
    );
    expect(installId).toMatch(/^[0-9a-z]+$/);
    const otherInstall = `other${randomBytes(3).toString("hex")}`;
    const decoy = (name: string, install: string) =>
      inSandbox([
        "docker",
        "run",
        "-d",
        "--name",
        name,
        "--label",
        `nestbox.install=${install}`,
        "--label",
        "nestbox.folder=main",
        "--entrypoint",
        "sleep",
        AGENT_IMAGE,
        "infinity",
      ]);
    const staleName = `nestbox-${installId}-main-stale0`;
    const otherName = `nestbox-${otherInstall}-main-decoy0`;
    await decoy(staleName, installId);
    await decoy(otherName, otherInstall);

    const host = startNestbox(dataDir, { trustCa: true });
    host.send("hello from inside the sandbox");
    const line = await host.waitFor(/^Andy: .*$/m, { timeoutMs: 150_000 });
    expect(line).toBe(`Andy: ${REPLY}`);

    // The model request crossed the MITM proxy as HTTPS to the fake host, carrying the real key.
    // (The health endpoint's reachability check also sends one HEAD /, with no key.)
    const toModel = mitm.requests.filter((r) => r.host === LLM_HOST);
    for (const head of toModel.filter((r) => r.method === "HEAD")) {
      expect(head).toMatchObject({ path: "/" });
      expect(head.headers.authorization).toBeUndefined();
    }
    const modelCalls = toModel.filter((r) => r.method !== "HEAD");
    expect(modelCalls.length).toBeGreaterThan(0);
    expect(modelCalls[0]).toMatchObject({ method: "POST", path: "/v1/chat/completions", protocol: "https" });
    expect(modelCalls[0]?.headers.authorization).toBe(`Bearer ${SECRET}`);
    expect(llm.requests[0]?.headers.authorization).toBe(`Bearer ${SECRET}`);
    expect(JSON.stringify(llm.requests[0]?.messages)).toContain("hello from inside the sandbox");
    // Nothing else left the sandbox (anything else would have had a 502 from the proxy).
    expect(mitm.requests.filter((r) => r.host !== LLM_HOST)).toEqual([]);

    // While the agent runs: the stale container of this install is gone, the other install's remains.
    const labelled = await innerContainers("nestbox.install");
    const names = labelled.map((c) => c.Name.replace(/^\//, ""));
    expect(names).not.toContain(staleName);
    expect(names).toContain(otherName);
    expect(host.stderr()).toContain("removed orphaned agent containers");
    expect(host.stderr()).toContain(staleName);
    const agents = labelled.filter(
      (c) =>
        c.Config.Labels?.["nestbox.install"] === installId && c.State.Running && c.Name !== `/${staleName}`,
    );
    expect(agents.length).toBe(1);
    const agent = agents[0] as Inspected;

    // The real key is nowhere in any container's configuration: env, labels, command, mounts.
    for (const c of labelled) expect(JSON.stringify(c)).not.toContain(SECRET);
    // The agent got the proxy (bypassed for the credential proxy) and the CA, as section 6 says.
    const env = new Map(
      (agent.Config.Env ?? []).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]),
    );
    expect(env.get("HTTPS_PROXY")).toBe(proxyUrl);
    expect(env.get("https_proxy")).toBe(proxyUrl);
    // The agent is on the install's own network (inner daemon); host.docker.internal is that network's
    // gateway, where the credential proxy listens.
    expect(agent.HostConfig.NetworkMode).toBe(`nestbox-${installId}`);
    const gatewayHost = (agent.HostConfig.ExtraHosts ?? []).find((h) =>
      h.startsWith("host.docker.internal:"),
    );
    const innerGateway = gatewayHost?.slice("host.docker.internal:".length) ?? "";
    expect(innerGateway).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(proxyUrl).not.toContain(`//${innerGateway}:`);
    expect(env.get("NO_PROXY")?.split(",")).toEqual(
      expect.arrayContaining(["host.docker.internal", innerGateway, "localhost", "127.0.0.1"]),
    );
    expect(env.get("NODE_EXTRA_CA_CERTS")).toBe("/workspace/ca/extra.pem");
    expect(env.get("SSL_CERT_FILE")).toBe("/workspace/ca/bundle.pem");
    expect(env.get("NESTBOX_MODEL_TOKEN")).toMatch(/^nbx-/);
    expect(env.get("NESTBOX_MODEL_BASE_URL")).toMatch(/^http:\/\/host\.docker\.internal:\d+\/model$/);
    // ... and its processes' environments hold no key either.
    const environ = await inSandbox(
      ["docker", "exec", agent.Id, "sh", "-c", "cat /proc/[0-9]*/environ 2>/dev/null | tr '\\0' '\\n'; true"],
      { timeoutMs: 30_000 },
    );
    expect(environ.stdout).toContain("NESTBOX_MODEL_TOKEN=nbx-");
    expect(environ.stdout).not.toContain(SECRET);
    // A tool in the agent (curl: HTTPS_PROXY and SSL_CERT_FILE) gets out through the MITM proxy too.
    const seen = mitm.requests.length;
    const curl = await inSandbox(
      ["docker", "exec", agent.Id, "curl", "-sS", "--max-time", "20", `https://${LLM_HOST}/v1/models`],
      { timeoutMs: 40_000 },
    );
    expect(curl.stdout).toContain("no route GET /v1/models");
    expect(mitm.requests.slice(seen)).toMatchObject([{ method: "GET", host: LLM_HOST, path: "/v1/models" }]);

    host.endInput();
    expect(await host.exited()).toBe(0);
    expect(host.stdout().match(/^Andy: /gm)).toHaveLength(1);

    // The other install's container survived the whole run, and so did the sandbox itself.
    expect((await innerContainers(`nestbox.install=${otherInstall}`)).map((c) => c.Name)).toEqual([
      `/${otherName}`,
    ]);
    const outer = await outerSandbox();
    expect(outer?.Id).toBe(sandboxId);
    expect(outer?.State.Running).toBe(true);
    expect(outer?.State.StartedAt).toBe(sandboxStartedAt);
    expect(outer?.RestartCount).toBe(0);
  }, 240_000);

  it("without the CA forwarded, the chat gets a short failure at once, the log the certificate fix, not a hang", async () => {
    const llmBefore = llm.requests.length;
    const started = Date.now();
    const host = startNestbox("/var/lib/nestbox-without-ca", { trustCa: false });
    host.send("hello without the CA");
    const line = await host.waitFor(/^Andy: .*$/m, { timeoutMs: 150_000 });
    const elapsed = Date.now() - started;
    step(`error reply after ${Math.round(elapsed / 1000)} s: ${line}`);
    // The chat hears that there is no answer; the operator's log says what to fix.
    expect(line).toBe("Andy: Sorry, I couldn't get an answer from the AI model for this.");
    expect(host.stderr()).toMatch(/certificate.*NODE_EXTRA_CA_CERTS|NODE_EXTRA_CA_CERTS.*certificate/i);
    expect(elapsed).toBeLessThan(120_000);
    host.endInput();
    expect(await host.exited()).toBe(0);
    // The request never reached the model: nestbox refused the proxy's certificate.
    expect(llm.requests.length).toBe(llmBefore);
    expect(mitm.tlsFailures.some((f) => f.host === LLM_HOST)).toBe(true);
    const outer = await outerSandbox();
    expect(outer?.State.Running).toBe(true);
  }, 200_000);
});
