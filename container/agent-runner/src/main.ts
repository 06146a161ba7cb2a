#!/usr/bin/env node
// nestbox agent runner: speaks the host protocol (protocol.js) on its attached stdio and runs pi turns.
// The first stdin line is the frame key; every frame after it, both ways, is sealed (wire.js).
// The protocol pipes move to close-on-exec descriptors (protocol-fds.js), so no process the runner
// starts can inherit them; fd 1 then goes to stderr, so a stray console.log cannot reach the host.
// Startup is kept lean: `ready` goes out before zod, undici or pi are loaded; they load in parallel
// while stdin is already buffered by the pipe.
import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { hasProxy, loadRunnerConfig } from "./config.js";
import { openProtocolStreams, readKeyLine } from "./protocol-fds.js";
import { FrameSealer } from "./wire.js";

// SIGUSR1 would open Node's inspector on 127.0.0.1:9229, and any process of the agent's user may
// send it: a tool could then run code inside the runner and read its key. A listener of our own
// replaces Node's (checked in test/docker/attacks-frames.test.ts); the node of the images (20)
// has no --disable-sigusr1.
process.on("SIGUSR1", () => {});
const protocolIo = openProtocolStreams();
const writeFrameLine = protocolIo.write;
process.env.PI_TELEMETRY ??= "0";

const startedAt = performance.now();
const version = readVersion();

const key = await readKeyLine(protocolIo.input);
if (!key) {
  // Nothing can be sent to the host without the key: say why on stderr (the host keeps its tail).
  process.stderr.write("nestbox runner: the first input line must be the frame key; exiting\n");
  process.exit(2);
}
const sealer = new FrameSealer(key, "agent");

/** Send one sealed frame to the host. Never throws. */
function send(frame) {
  let line;
  try {
    line = sealer.seal(frame);
  } catch (err) {
    const turnId = typeof frame.turnId === "string" ? frame.turnId : null;
    line = sealer.seal({
      type: "error",
      turnId,
      code: "frame_too_large",
      message: String(err).slice(0, 500),
    });
  }
  writeFrameLine(line);
}

function log(level, message) {
  send({ type: "log", level, message });
}

let config;
try {
  config = loadRunnerConfig(process.env);
} catch (err) {
  send({
    type: "error",
    turnId: null,
    code: err?.code ?? "bad_config",
    message: String(err?.message ?? err),
  });
  writeFrameLine("", () => process.exit(2));
}

if (config) {
  ensureHome();
  send({ type: "ready", version });
  if (!protocolIo.moved)
    log("warn", "the protocol is not on pipes: it stays on fds 0 and 1, which tools may inherit");
  await serve(config);
}

/**
 * pi, from the bundle the image build makes (dist/pi.js: one file instead of hundreds of modules,
 * about half the import time) or, outside the image, from node_modules.
 */
function loadPi() {
  const bundle = new URL("../dist/pi.js", import.meta.url);
  if (!existsSync(fileURLToPath(bundle))) return import("@mariozechner/pi-coding-agent");
  // The bundle no longer sits in pi's package folder: tell pi where its package.json and assets are.
  process.env.PI_PACKAGE_DIR ??= fileURLToPath(
    new URL("../node_modules/@mariozechner/pi-coding-agent", import.meta.url),
  );
  return import(bundle.href);
}

async function serve(config) {
  // Both start now and overlap with loading protocol.js; turns wait for them.
  const proxyInstalled = hasProxy(process.env)
    ? installProxyDispatcher().catch((err) => {
        log(
          "warn",
          `proxy variables are set but no proxy dispatcher could be installed: ${err?.message ?? err}`,
        );
        return false;
      })
    : Promise.resolve(false);
  const piModule = loadPi();
  piModule.catch(() => {}); // reported through agentPromise
  const agentPromise = (async () => {
    const proxied = await proxyInstalled;
    const pi = await piModule;
    const { PiAgent } = await import("./agent.js");
    const agent = new PiAgent(pi, config);
    const ms = Math.round(performance.now() - startedAt);
    log(
      "info",
      `pi ${pi.VERSION ?? "?"} ready after ${ms} ms; proxy ${proxied ? "on" : "off"}; skills: ${agent.skillNames.join(", ") || "none"}`,
    );
    return agent;
  })();
  agentPromise.catch((err) => log("error", `agent runtime failed to load: ${err?.stack ?? err}`));

  const protocol = await import("./protocol.js");
  const decoder = new protocol.FrameDecoder({ schema: protocol.HostFrameSchema, key, from: "host" });
  const ignored = ignoredInputLog();

  /** @type {{ turnId: string, controller: AbortController, done: Promise<void> } | null} */
  let current = null;
  /** @type {Map<string, { turnId: string, resolve: (r: { ok: boolean, result?: string, error?: string }) => void }>} */
  const pendingCalls = new Map();
  let shuttingDown = false;
  let inputClosed = false;

  const runTurn = async (frame, controller) => {
    let outcome = { sessionId: frame.sessionId, usage: null };
    const sink = {
      reply: (text, final) => send({ type: "reply", turnId: frame.turnId, text, final }),
      error: (code, message) => send({ type: "error", turnId: frame.turnId, code, message }),
      log,
      sendMessage: (args, signal) => callHostTool(frame.turnId, args, signal),
    };
    try {
      let agent;
      try {
        agent = await agentPromise;
      } catch (err) {
        sink.error("runtime_unavailable", `the agent runtime failed to load: ${err?.message ?? err}`);
        return;
      }
      outcome = await agent.runTurn(frame, sink, controller.signal);
    } catch (err) {
      sink.error(controller.signal.aborted ? "cancelled" : "turn_failed", String(err?.message ?? err));
    } finally {
      for (const [callId, call] of pendingCalls) {
        if (call.turnId !== frame.turnId) continue;
        pendingCalls.delete(callId);
        call.resolve({ ok: false, error: "the turn ended" });
      }
      send({ type: "turn_end", turnId: frame.turnId, sessionId: outcome.sessionId, usage: outcome.usage });
    }
  };

  const callHostTool = (turnId, args, signal) =>
    new Promise((resolve) => {
      if (signal.aborted) return resolve({ ok: false, error: "cancelled" });
      if (inputClosed) return resolve({ ok: false, error: "the host closed the connection" });
      const callId = randomUUID();
      pendingCalls.set(callId, { turnId, resolve });
      signal.addEventListener(
        "abort",
        () => {
          if (pendingCalls.delete(callId)) resolve({ ok: false, error: "cancelled" });
        },
        { once: true },
      );
      send({ type: "tool_call", turnId, callId, name: "send_message", args });
    });

  const handle = (frame) => {
    switch (frame.type) {
      case "turn": {
        if (shuttingDown)
          return send({
            type: "error",
            turnId: frame.turnId,
            code: "shutting_down",
            message: "the runner is shutting down",
          });
        if (current) {
          return send({
            type: "error",
            turnId: frame.turnId,
            code: "busy",
            message: `turn ${current.turnId} is still running`,
          });
        }
        const controller = new AbortController();
        const turn = { turnId: frame.turnId, controller, done: Promise.resolve() };
        current = turn;
        turn.done = runTurn(frame, controller).finally(() => {
          if (current === turn) current = null;
        });
        return;
      }
      case "tool_result": {
        const call = pendingCalls.get(frame.callId);
        if (!call) return log("warn", `tool_result for unknown call ${frame.callId}`);
        pendingCalls.delete(frame.callId);
        return call.resolve({ ok: frame.ok, result: frame.result, error: frame.error });
      }
      case "cancel":
        if (current?.turnId === frame.turnId) current.controller.abort();
        return;
      case "shutdown":
        return void shutdown(0);
    }
  };

  const shutdown = async (code) => {
    if (shuttingDown) return;
    shuttingDown = true;
    const running = current;
    if (running) {
      running.controller.abort();
      await Promise.race([running.done, new Promise((r) => setTimeout(r, 5000).unref())]);
    }
    await agentPromise.then((agent) => agent.close()).catch(() => {});
    writeFrameLine("", () => process.exit(code));
  };

  process.on("SIGTERM", () => void shutdown(0));
  process.on("SIGINT", () => void shutdown(0));
  process.on("unhandledRejection", (reason) =>
    log("error", `unhandled rejection: ${reason?.stack ?? reason}`),
  );
  process.on("uncaughtException", (err) => {
    send({
      type: "error",
      turnId: current?.turnId ?? null,
      code: "internal",
      message: String(err?.stack ?? err),
    });
  });

  const input = protocolIo.input;
  input.on("data", (chunk) => {
    for (const result of decoder.push(chunk)) {
      if (result.ok) handle(result.frame);
      else ignored(result.reason);
    }
  });
  input.resume();
  // End of input: let a running turn finish (host tools can no longer answer), then exit.
  input.on("end", async () => {
    for (const result of decoder.end()) {
      if (result.ok) handle(result.frame);
    }
    inputClosed = true;
    for (const [callId, call] of pendingCalls) {
      pendingCalls.delete(callId);
      call.resolve({ ok: false, error: "the host closed the connection" });
    }
    await current?.done;
    void shutdown(0);
  });
}

/**
 * Notices of ignored input lines, bounded: anything in the container may write junk into the input
 * pipe, and one notice per line would turn that into a flood of authentic log frames to the host.
 */
function ignoredInputLog(shown = 5, windowMs = 10_000) {
  let count = 0;
  let summaryPending = false;
  return (reason) => {
    count += 1;
    if (count <= shown) return log("warn", `ignored input: ${reason}`);
    if (summaryPending) return;
    summaryPending = true;
    setTimeout(() => {
      log("warn", `ignored ${count - shown} more input lines (bad seal or invalid frame)`);
      count = 0;
      summaryPending = false;
    }, windowMs).unref();
  };
}

async function installProxyDispatcher() {
  const { EnvHttpProxyAgent, setGlobalDispatcher } = await import("undici");
  // Model streams can stall for minutes (long tool-call generation); the SDKs keep their own deadlines.
  setGlobalDispatcher(new EnvHttpProxyAgent({ bodyTimeout: 0, headersTimeout: 0 }));
  return true;
}

function readVersion() {
  try {
    return String(JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")).version);
  } catch {
    return "0.0.0";
  }
}

/** The root filesystem is read-only: HOME must point at a writable place (the image sets /tmp/home). */
function ensureHome() {
  const home = process.env.HOME;
  if (!home) return;
  try {
    mkdirSync(home, { recursive: true });
  } catch {
    // read-only HOME: tools that write there will say so themselves
  }
}
