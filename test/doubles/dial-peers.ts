import { connect, type Socket } from "node:net";
import { afterEach } from "vitest";
import { DialTransport } from "../../src/agents/transport/dial/dial-transport.js";
import { DialServer, type DialServerOptions } from "../../src/agents/transport/dial/server.js";
import type { DialSession } from "../../src/agents/transport/dial/session.js";
import type { AgentTransport, TransportTicket } from "../../src/agents/transport/transport.js";
import { silentLogger } from "../../src/log.js";
import { createFrameKey } from "../../src/protocol/index.js";

/** A listening DialServer on loopback and its transport. */
export async function dialServer(options: Partial<DialServerOptions> = {}) {
  const server = new DialServer({
    host: "127.0.0.1",
    port: 0,
    advertise: { host: "127.0.0.1" },
    log: silentLogger(),
    ...options,
  });
  await server.listen();
  const transport = new DialTransport(server);
  /** A ticket and its link (the session), as AgentContainer gets them. */
  const open = async (name = "agent-a") => {
    const key = createFrameKey();
    const ticket = transport.open(name, key);
    const link = (await ticket.connect("container-1")) as DialSession;
    return { key, ticket, link, token: ticket.env.NESTBOX_DIAL_TOKEN as string };
  };
  return { server, transport, open };
}

/**
 * `dialServer` for a test file: every server it starts is closed after each test (call at the top level
 * of the file, use the returned function in the tests).
 */
export function dialServers(): (options?: Partial<DialServerOptions>) => ReturnType<typeof dialServer> {
  let servers: DialServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.map((s) => s.close()));
    servers = [];
  });
  return async (options = {}) => {
    const d = await dialServer(options);
    servers.push(d.server);
    return d;
  };
}

/** A raw peer: connects (optionally from `localAddress`), and collects everything the server says. */
export function rawPeer(port: number, localAddress?: string) {
  const socket: Socket = connect({ host: "127.0.0.1", port, localAddress });
  let text = "";
  let closed = false;
  socket.on("data", (d: Buffer) => {
    text += d.toString("latin1");
  });
  socket.on("error", () => {});
  const gone = new Promise<void>((resolve) =>
    socket.on("close", () => {
      closed = true;
      resolve();
    }),
  );
  return {
    socket,
    send: (s: string) => socket.write(s),
    get text() {
      return text;
    },
    get closed() {
      return closed;
    },
    gone,
    /** The first line the server sent. */
    firstLine: async () => {
      for (let i = 0; i < 400 && !text.includes("\n"); i++) await new Promise((r) => setTimeout(r, 5));
      return text.split("\n")[0] ?? "";
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A DialTransport that records each ticket's host-side session, so a test can cut its connection. */
export function recordingDialTransport(server: DialServer): {
  transport: AgentTransport;
  sessions: DialSession[];
} {
  const sessions: DialSession[] = [];
  const inner = new DialTransport(server);
  const transport: AgentTransport = {
    kind: "dial",
    open: (name, key): TransportTicket => {
      const ticket = inner.open(name, key);
      return {
        env: ticket.env,
        revoke: () => ticket.revoke(),
        connect: async (id) => {
          const link = (await ticket.connect(id)) as DialSession;
          sessions.push(link);
          return link;
        },
      };
    },
  };
  return { transport, sessions };
}
