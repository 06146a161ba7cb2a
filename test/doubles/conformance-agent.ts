import { FakeAgent, type TurnScript, untilAborted } from "./fake-agent.js";

/**
 * The transport conformance script (test/contracts/agent-transport-conformance.ts) as a fake agent:
 * "hello" -> "hi there"; SEND:{json} -> send_message with it, then a reply quoting the answer; "WAIT" -> nothing.
 */
export const conformanceScript: TurnScript = async (frame, sink, signal) => {
  if (frame.prompt === "WAIT") return untilAborted(signal);
  const m = /SEND:(\{[^}]*\})/.exec(frame.prompt);
  if (m?.[1]) {
    sink.reply("let me send that", false);
    const result = await sink.callHostTool("send_message", JSON.parse(m[1]), signal);
    sink.reply(`tool said: ${result.ok ? result.result : result.error}`, true);
    return;
  }
  sink.reply("hi there", true);
};

/** A fresh fake agent playing {@link conformanceScript}. */
export const conformanceAgent = () => new FakeAgent(conformanceScript);
