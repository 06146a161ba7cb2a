import { AgentError } from "../../../errors.js";
import type { AgentTransport, TransportTicket } from "../transport.js";
import type { DialServer } from "./server.js";

/**
 * Agents dial the host (runtimes without attach, e.g. a swarm): each ticket is a session on the
 * server with a single-use token in the container's env; the frame key goes out after the hello.
 */
export class DialTransport implements AgentTransport {
  readonly kind = "dial" as const;

  constructor(private readonly server: DialServer) {}

  open(agentName: string, key: string): TransportTicket {
    const session = this.server.session(agentName, key);
    return {
      env: { NESTBOX_DIAL_ADDRESS: this.server.address, NESTBOX_DIAL_TOKEN: session.token },
      connect: async () => {
        if (session.ended) throw new AgentError("AGENT_START_FAILED", "the transport ticket was revoked");
        return session;
      },
      revoke: () => session.revoke(),
    };
  }
}
