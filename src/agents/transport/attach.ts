import type { AttachedStdio, ContainerRuntime } from "../../containers/container-runtime.js";
import { AgentError } from "../../errors.js";
import { encodeKeyLine } from "../../protocol/index.js";
import type { AgentLink, AgentTransport, TransportTicket } from "./transport.js";

/** Never settles: an attached link is not lost, the container's exit is seen through `runtime.wait`. */
const NEVER = new Promise<string>(() => {});

/**
 * The container's attached stdio (the local Docker runtime): the key line goes into stdin before
 * the container starts, so the runner reads it before any tool process can exist.
 */
export class AttachTransport implements AgentTransport {
  readonly kind = "attach" as const;

  constructor(private readonly runtime: ContainerRuntime) {}

  open(_agentName: string, key: string): TransportTicket {
    const keyLine = encodeKeyLine(key);
    let stdio: AttachedStdio | null = null;
    let revoked = false;
    return {
      env: {},
      connect: async (containerId) => {
        if (revoked) throw new AgentError("AGENT_START_FAILED", "the transport ticket was revoked");
        const io = await this.runtime.attach(containerId);
        let closed = false;
        const close = () => {
          if (closed) return;
          closed = true;
          io.close();
        };
        stdio = { ...io, close };
        io.stdin.on("error", () => {});
        io.stdin.write(keyLine);
        const link: AgentLink = {
          output: io.stdout,
          stderr: io.stderr,
          write: (lines) => void io.stdin.write(lines),
          close,
          lost: NEVER,
          remoteAddress: null,
        };
        return link;
      },
      revoke: () => {
        revoked = true;
        stdio?.close();
        stdio = null;
      },
    };
  }
}
