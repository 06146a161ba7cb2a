import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { InboundMessage } from "../../src/channels/channel.js";
import {
  createWhatsAppAdapter,
  type WhatsAppAdapter,
  type WhatsAppAdapterConfig,
} from "../../src/channels/whatsapp/index.js";
import { silentLogger } from "../../src/log.js";
import { waitFor } from "../wait.js";
import { type FakeSocket, FakeWhatsApp, ManualTimers, writeLinkedCreds } from "./fake-socket.js";

/** A WhatsApp adapter on a fake WhatsApp, with linked credentials in a temporary auth dir. */
export interface AdapterRig {
  adapter: WhatsAppAdapter;
  world: FakeWhatsApp;
  timers: ManualTimers;
  authDir: string;
  inbound: InboundMessage[];
  readyCount(): number;
  /** Starts the adapter and opens its first socket. */
  startOpen(): Promise<FakeSocket>;
  close(): Promise<void>;
}

export async function adapterRig(overrides: Partial<WhatsAppAdapterConfig> = {}): Promise<AdapterRig> {
  const root = await mkdtemp(path.join(tmpdir(), "nestbox-wa-"));
  const authDir = path.join(root, "auth", "whatsapp");
  await writeLinkedCreds(authDir);
  const world = new FakeWhatsApp();
  const timers = new ManualTimers();
  const adapter = createWhatsAppAdapter({
    authDir,
    assistantName: "Andy",
    log: silentLogger(),
    socketFactory: world.factory,
    timers,
    random: () => 0.5,
    backoff: { baseMs: 1000, maxMs: 8000 },
    ...overrides,
  });
  const inbound: InboundMessage[] = [];
  let ready = 0;
  adapter.onInbound(async (m) => {
    inbound.push(m);
  });
  adapter.onReady(() => {
    ready++;
  });
  return {
    adapter,
    world,
    timers,
    authDir,
    inbound,
    readyCount: () => ready,
    async startOpen() {
      const started = adapter.start();
      const sock = await world.socketNumber(1);
      sock.connecting();
      sock.open();
      await started;
      return sock;
    },
    async close() {
      await adapter.stop();
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** Polls until `probe` is true (real time; the adapter's work is file I/O and promise chains). */
export async function until(probe: () => boolean | Promise<boolean>, what: string, ms = 3000): Promise<void> {
  await waitFor(probe, what, ms);
}

/** Lets queued promise callbacks and I/O run. */
export function settle(ms = 20): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
