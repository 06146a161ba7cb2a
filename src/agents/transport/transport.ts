// How the host reaches an agent container's runner: attached stdio (attach.ts) or a connection the
// agent opens to the host (dial/). Either way the sealed lines of src/protocol/wire.ts flow unchanged.
import type { Readable } from "node:stream";

/** One agent's protocol connection as the host sees it, continuous across reconnects. */
export interface AgentLink {
  /** Sealed agent->host lines (what the runner wrote), one stream across reconnects. */
  readonly output: Readable;
  /** The container's stderr where the transport carries it (attach); null otherwise. */
  readonly stderr: Readable | null;
  /** Writes sealed host->agent lines (buffered while a dialled link is reconnecting). */
  write(lines: string): void;
  /** Ends the link (not the container). */
  close(): void;
  /** Resolves (with a reason) when the link is gone for good: the agent did not come back within the grace. */
  readonly lost: Promise<string>;
  /** The address the agent dialled from (dial), null for attach. */
  readonly remoteAddress: string | null;
}

/** What one agent container needs from a transport, from creation to stop. */
export interface TransportTicket {
  /** Environment the container needs to reach the host (empty for attach). */
  readonly env: Record<string, string>;
  /** After create, before start: the link (for dial it resolves at once; frames flow once the agent dials in). */
  connect(containerId: string): Promise<AgentLink>;
  /** Revokes the ticket's tokens and ends its link; idempotent. */
  revoke(): void;
}

/** A way for the host to talk to agent containers: one ticket per container. */
export interface AgentTransport {
  readonly kind: "attach" | "dial";
  /** `key` is the container's frame key (src/protocol/wire.ts): attach writes it to stdin, dial sends it after the hello. */
  open(agentName: string, key: string): TransportTicket;
}
