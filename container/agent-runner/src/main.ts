#!/usr/bin/env node
// nestbox agent runner: speaks the host protocol (src/protocol) on its attached stdio, or over a
// connection it dials to the host when NESTBOX_DIAL_ADDRESS is set (dial.ts), and runs pi turns.
// The first stdin line (or the dial's `welcome`) is the frame key; every frame after it, both ways,
// is sealed (wire.ts).
// The protocol pipes move to close-on-exec descriptors (protocol-fds.ts), so no process the runner
// starts can inherit them; fd 1 then goes to stderr, so a stray console.log cannot reach the host.
// Startup is kept lean: `ready` goes out before zod, undici or pi are loaded (this file and its
// static imports use Node built-ins only; the image build bundles serve.ts and agent.ts into
// chunks loaded afterwards), and they load in parallel while stdin is already buffered by the pipe.
import { existsSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { AgentErrorCode } from "../../../src/protocol/error-codes.js";
import { hasProxy, loadRunnerConfig, type RunnerConfig } from "./config.js";
import { DialRefusedError, dialHost } from "./dial.js";
import { FrameWriter } from "./frame-writer.js";
import { loadBundle } from "./pi-loader.js";
import type { PiModule } from "./pi-types.js";
import { openProtocolStreams, type ProtocolStreams, readKeyLine } from "./protocol-fds.js";
import type { RunnerAgent } from "./runner-agent.js";
import { mark, note } from "./startup-marks.js";

/** Set by the image build (build/bundle-runner.mjs) from package.json; absent when run from source. */
declare const NESTBOX_RUNNER_VERSION: string | undefined;

// SIGUSR1 would open Node's inspector on 127.0.0.1:9229, and any process of the agent's user may
// send it: a tool could then run code inside the runner and read its key. A listener of our own
// replaces Node's (checked in test/docker/attacks-frames.test.ts); the node of the images (20)
// has no --disable-sigusr1.
process.on("SIGUSR1", () => {});
mark("mainStart");
// Dialled (runtimes without attach): the token is read and removed from the environment first, so
// no process the runner starts inherits it (it is single-use: spent by the hello anyway).
const dialAddress = process.env.NESTBOX_DIAL_ADDRESS;
const dialToken = process.env.NESTBOX_DIAL_TOKEN ?? "";
delete process.env.NESTBOX_DIAL_TOKEN;
const { protocolIo, key } = dialAddress
  ? await dialProtocol(dialAddress, dialToken)
  : await attachedProtocol();
process.env.PI_TELEMETRY ??= "0";

const startedAt = performance.now();
const version = typeof NESTBOX_RUNNER_VERSION === "string" ? NESTBOX_RUNNER_VERSION : "0.0.0";
mark("keyRead");
const writer = new FrameWriter(key, protocolIo.write);

let config: RunnerConfig | null = null;
try {
  config = loadRunnerConfig(process.env);
} catch (err) {
  const message = String((err as Error)?.message ?? err);
  writer.send({ type: "error", turnId: null, code: AgentErrorCode.BadConfig, message });
  writer.flush(() => process.exit(2));
}

if (config) {
  ensureHome();
  writer.send({ type: "ready", version });
  mark("readySent");
  if (!protocolIo.moved)
    writer.log("warn", "the protocol is not on pipes: it stays on fds 0 and 1, which tools may inherit");
  await serve(key, config);
}

async function serve(key: string, config: RunnerConfig): Promise<void> {
  const agent = loadAgent(config);
  agent.catch((err) => writer.log("error", `agent runtime failed to load: ${(err as Error)?.stack ?? err}`));
  const { ServeLoop } = await import("./serve.js");
  mark("serveLoaded");
  const loop = new ServeLoop({ input: protocolIo.input, key, writer, agent });
  process.on("SIGTERM", () => void loop.shutdown(0));
  process.on("SIGINT", () => void loop.shutdown(0));
  process.on("unhandledRejection", (reason) =>
    writer.log("error", `unhandled rejection: ${(reason as Error)?.stack ?? reason}`),
  );
  process.on("uncaughtException", (err) => loop.reportInternal(err));
  void loop.closed.then((code) => writer.flush(() => process.exit(code)));
  loop.start();
}

/** The protocol on the attached stdio: the first input line is the frame key. */
async function attachedProtocol(): Promise<{ protocolIo: ProtocolStreams; key: string }> {
  const protocolIo = openProtocolStreams();
  const key = await readKeyLine(protocolIo.input);
  if (!key) {
    // Nothing can be sent to the host without the key: say why on stderr (the host keeps its tail).
    process.stderr.write("nestbox runner: the first input line must be the frame key; exiting\n");
    process.exit(2);
  }
  return { protocolIo, key };
}

/** The protocol over a connection to the host: exits 2 when refused, 3 when the host is gone for good. */
async function dialProtocol(
  address: string,
  token: string,
): Promise<{ protocolIo: ProtocolStreams; key: string }> {
  const note = (message: string) => void process.stderr.write(`${message}\n`);
  try {
    const dialed = await dialHost({
      address,
      token,
      note,
      onLost: (reason) => {
        note(`nestbox runner: ${reason}; exiting`);
        process.exit(3);
      },
    });
    return { protocolIo: { input: dialed.input, write: dialed.write, moved: true }, key: dialed.key };
  } catch (err) {
    note(`nestbox runner: cannot dial the host at ${address}: ${(err as Error).message}; exiting`);
    process.exit(err instanceof DialRefusedError ? 2 : 3);
  }
}

/** pi, the proxy dispatcher and the agent, loading in the background; turns wait for them. */
async function loadAgent(config: RunnerConfig): Promise<RunnerAgent> {
  const proxyInstalled = hasProxy(process.env)
    ? installProxyDispatcher().catch((err) => {
        writer.log(
          "warn",
          `proxy variables are set but no proxy dispatcher could be installed: ${(err as Error)?.message ?? err}`,
        );
        return false;
      })
    : Promise.resolve(false);
  const piModule = loadPi();
  piModule.catch(() => {}); // reported through the agent's promise
  const proxied = await proxyInstalled;
  const pi = await piModule;
  mark("piLoaded");
  const { PiAgent } = await import("./agent.js");
  mark("agentLoaded");
  const agent = new PiAgent(pi, config);
  mark("agentReady");
  const ms = Math.round(performance.now() - startedAt);
  writer.log(
    "info",
    `pi ${pi.VERSION ?? "?"} ready after ${ms} ms; proxy ${proxied ? "on" : "off"}; skills: ${agent.skillNames.join(", ") || "none"}`,
  );
  return agent;
}

/**
 * pi, from the bundle the image build makes (dist/pi.cjs: one file instead of hundreds of modules,
 * about half the import time, run through V8's code cache dist/pi.cache) or, outside the image,
 * from node_modules. The specifier is a value, not a literal, so neither tsc nor esbuild follows it.
 */
async function loadPi(): Promise<PiModule> {
  // This file runs as dist/runner/main.js in the image.
  const bundle = fileURLToPath(new URL("../pi.cjs", import.meta.url));
  if (!existsSync(bundle)) {
    note("pi", "node_modules");
    const name = "@mariozechner/pi-coding-agent";
    return import(name);
  }
  // The bundle no longer sits in pi's package folder: tell pi where its package.json and assets are.
  process.env.PI_PACKAGE_DIR ??= fileURLToPath(
    new URL("../../node_modules/@mariozechner/pi-coding-agent", import.meta.url),
  );
  // Let the serve loop's chunk start loading first: it is small and the first turn needs it too.
  await new Promise((resolve) => setImmediate(resolve));
  const loaded = loadBundle(bundle, fileURLToPath(new URL("../pi.cache", import.meta.url)));
  note("pi", "bundle");
  note("codeCache", loaded.cache);
  if (loaded.cache !== "accepted") writer.log("warn", `pi's code cache was not used (${loaded.cache})`);
  return loaded.exports as PiModule;
}

async function installProxyDispatcher(): Promise<boolean> {
  const name = "undici";
  const { EnvHttpProxyAgent, setGlobalDispatcher } = (await import(name)) as {
    EnvHttpProxyAgent: new (options: { bodyTimeout: number; headersTimeout: number }) => unknown;
    setGlobalDispatcher: (dispatcher: unknown) => void;
  };
  // Model streams can stall for minutes (long tool-call generation); the SDKs keep their own deadlines.
  setGlobalDispatcher(new EnvHttpProxyAgent({ bodyTimeout: 0, headersTimeout: 0 }));
  return true;
}

/** The root filesystem is read-only: HOME must point at a writable place (the image sets /tmp/home). */
function ensureHome(): void {
  const home = process.env.HOME;
  if (!home) return;
  try {
    mkdirSync(home, { recursive: true });
  } catch {
    // read-only HOME: tools that write there will say so themselves
  }
}
