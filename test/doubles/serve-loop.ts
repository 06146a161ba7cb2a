import { PassThrough } from "node:stream";
import { FrameWriter } from "../../container/agent-runner/src/frame-writer.js";
import type { RunnerAgent } from "../../container/agent-runner/src/runner-agent.js";
import { ServeLoop } from "../../container/agent-runner/src/serve.js";
import {
  type AgentFrame,
  AgentFrameSchema,
  createFrameKey,
  FrameDecoder,
  FrameSealer,
  type HostFrame,
} from "../../src/protocol/index.js";
import { waitFor } from "../wait.js";

/** The host's side of a runner serve loop: sealed frames in, everything the loop wrote decoded as the host does. */
export function serveLoop(
  agent: RunnerAgent | Promise<RunnerAgent>,
  options: { ignoredWindowMs?: number } = {},
) {
  const key = createFrameKey();
  const input = new PassThrough();
  const frames: AgentFrame[] = [];
  const rejected: string[] = [];
  const decoder = new FrameDecoder({ schema: AgentFrameSchema, key, from: "agent" });
  const writer = new FrameWriter(key, (chunk, callback) => {
    for (const r of decoder.push(chunk)) {
      if (r.ok) frames.push(r.frame);
      else rejected.push(r.reason);
    }
    callback?.();
  });
  const loop = new ServeLoop({
    input,
    key,
    writer,
    agent: Promise.resolve(agent),
    shutdownGraceMs: 500,
    ...options,
  });
  loop.start();
  const sealer = new FrameSealer(key, "host");
  const send = (frame: HostFrame) => input.write(sealer.seal(frame));
  const next = <T extends AgentFrame["type"]>(type: T, from = 0) =>
    waitFor(
      () => frames.slice(from).find((f): f is Extract<AgentFrame, { type: T }> => f.type === type),
      `a ${type} frame`,
    );
  const turn = (turnId: string, prompt = "hi", sessionId: string | null = null) =>
    send({ type: "turn", turnId, prompt, sessionId });
  return { loop, input, frames, rejected, send, next, turn };
}
