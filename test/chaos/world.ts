// One chaos scenario's world: a data folder with registered Telegram chats, the Bot API double (real
// offset semantics, long polling, fault switches), the chaos model, and the real host process
// (`nestbox start`, real agent containers), which the scenario may SIGKILL and restart at will.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { agentNetworkName, LABELS } from "../../src/containers/agent-spec.js";
import { Store } from "../../src/store/index.js";
import { seedDataDir } from "../data-dir.js";
import { TelegramBotApiDouble } from "../doubles/telegram-bot-api.js";
import { type LiveProcess, spawnProcess, startHost, tsNode } from "../process.js";
import { writeLinkedCreds } from "../whatsapp/fake-socket.js";
import { Ledger, type ScenarioResult } from "./ledger.js";
import { type ChaosModel, startChaosModel } from "./model.js";
import { WhatsAppServerDouble } from "./whatsapp-server.js";

const run = promisify(execFile);
const root = path.join(import.meta.dirname, "..", "..");

/** Telegram chat ids of the scenario's groups (chat index i -> CHAT_BASE + i). */
const CHAT_BASE = 7100;

export interface WorldOptions {
  name: string;
  chats: number;
  /** Which platform the users write on (default telegram). */
  channel?: "telegram" | "whatsapp";
  agentImage: string;
  /** MODEL_RETRY_WINDOW / MODEL_STALL_TIMEOUT for the host. */
  retryWindow?: string;
  stallTimeout?: string;
  /** Print the host's log lines to stderr. */
  verbose?: boolean;
  /** AGENT_RUNTIME (default local); `swarm` needs the daemon in a swarm (the scenario makes it one). */
  runtime?: "local" | "swarm";
}

export class ChaosWorld {
  readonly ledger = new Ledger();
  readonly faults: Record<string, number> = {};
  readonly notes: string[] = [];
  readonly dataDir: string;
  readonly installId: string;
  api!: TelegramBotApiDouble;
  /** The WhatsApp server double (whatsapp worlds only). */
  wa: WhatsAppServerDouble | null = null;
  #waPort = 0;
  model!: ChaosModel;
  host: LiveProcess | null = null;
  #started = Date.now();
  #allowlist: string;

  private constructor(readonly o: WorldOptions) {
    this.dataDir = mkdtempSync(path.join(tmpdir(), `nestbox-chaos-${o.name}-`));
    this.installId = `chaos${Date.now().toString(36)}`;
    this.#allowlist = path.join(mkdtempSync(path.join(tmpdir(), "nestbox-chaos-cfg-")), "allowlist.json");
  }

  static async create(o: WorldOptions): Promise<ChaosWorld> {
    const w = new ChaosWorld(o);
    w.api = new TelegramBotApiDouble();
    await w.api.start();
    w.model = await startChaosModel();
    if (o.channel === "whatsapp") {
      w.wa = new WhatsAppServerDouble();
      w.#waPort = await w.wa.start();
      await writeLinkedCreds(path.join(w.dataDir, "auth", "whatsapp"));
    }
    seedDataDir(
      w.dataDir,
      w.installId,
      Array.from({ length: o.chats }, (_, i) => ({
        chatId: w.chatIdOf(i),
        channel: o.channel ?? "telegram",
        name: `chaos ${i}`,
        folder: `chaos-${i}`,
        isMain: i === 0,
      })),
    );
    return w;
  }

  chatNumber(i: number): number {
    return CHAT_BASE + i;
  }

  /** nestbox's chat id of chat i. */
  chatIdOf(i: number): string {
    return this.wa ? `1555000${CHAT_BASE + i}@s.whatsapp.net` : `tg:${CHAT_BASE + i}`;
  }

  fault(kind: string, n = 1): void {
    this.faults[kind] = (this.faults[kind] ?? 0) + n;
  }

  /** Starts the real host and waits until it polls Telegram (or its WhatsApp channel is up). */
  async start(): Promise<LiveProcess> {
    if (this.wa) return this.#startWhatsAppHost();
    const polls = this.api.callsOf("getUpdates").length;
    const host = startHost(root, {
      ...this.#env(),
      TELEGRAM_BOT_TOKEN: this.api.token,
      TELEGRAM_API_ROOT: this.api.apiRoot,
    });
    if (this.o.verbose) host.child.stderr?.pipe(process.stderr);
    this.host = host;
    const deadline = Date.now() + 90_000;
    while (this.api.callsOf("getUpdates").length <= polls) {
      if (host.child.exitCode !== null)
        throw new Error(`the host exited at start:\n${host.stderr().slice(-3000)}`);
      if (Date.now() > deadline)
        throw new Error(`the host did not poll within 90 s:\n${host.stderr().slice(-3000)}`);
      await sleep(50);
    }
    return host;
  }

  async #startWhatsAppHost(): Promise<LiveProcess> {
    const host = spawnProcess(...tsNode(path.join(import.meta.dirname, "whatsapp-host.ts")), {
      cwd: root,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? root,
        NESTBOX_HEALTH_PORT: "0",
        ...this.#env(),
        WA_BRIDGE_PORT: String(this.#waPort),
      },
    });
    if (this.o.verbose) host.child.stderr?.pipe(process.stderr);
    this.host = host;
    await host.waitFor("READY", { stream: "stderr", timeoutMs: 90_000 });
    return host;
  }

  /** The host's environment, as a user's .env would hold it. */
  #env(): Record<string, string> {
    return {
      NESTBOX_DATA_DIR: this.dataDir,
      OPENAI_BASE_URL: this.model.llm.url,
      OPENAI_API_KEY: "sk-chaos",
      MODEL: "scripted",
      MODEL_PROVIDER: "openai",
      AGENT_IMAGE: this.o.agentImage,
      AGENT_MEMORY_MB: "512",
      MAX_CONCURRENT_AGENTS: "5",
      MODEL_RETRY_WINDOW: this.o.retryWindow ?? "30s",
      MODEL_STALL_TIMEOUT: this.o.stallTimeout ?? "3s",
      NESTBOX_MOUNT_ALLOWLIST: this.#allowlist,
      LOG_LEVEL: "info",
      TZ: "UTC",
      ...(this.o.runtime === "swarm" ? { AGENT_RUNTIME: "swarm", SWARM_SUBNET: "10.218.3.0/24" } : {}),
    };
  }

  async kill(): Promise<void> {
    await this.host?.kill("SIGKILL");
    this.host = null;
    this.fault("host SIGKILL");
  }

  async stop(): Promise<void> {
    await this.host?.kill("SIGTERM");
    this.host = null;
  }

  /** A user writes the next message to chat i. */
  push(i: number): string {
    const text = this.ledger.nextText(i, this.chatIdOf(i));
    if (this.wa) this.wa.push(this.chatIdOf(i), text);
    else this.api.pushMessage({ chatId: this.chatNumber(i), text });
    return text;
  }

  /** Agent containers of this install (of chat i only, when given) running right now. */
  async agentContainers(i?: number): Promise<string[]> {
    const filters = ["--filter", `label=${LABELS.install}=${this.installId}`];
    if (i !== undefined) filters.push("--filter", `label=${LABELS.chat}=${this.chatIdOf(i)}`);
    const { stdout } = await run("docker", ["ps", "-q", ...filters]);
    return stdout.split("\n").filter(Boolean);
  }

  /** A killed host leaves its services; the chat volumes are data, removed here with the test's install. */
  async #removeSwarmLeftovers(): Promise<void> {
    const label = `label=${LABELS.install}=${this.installId}`;
    const services = (await run("docker", ["service", "ls", "-q", "--filter", label])).stdout
      .split("\n")
      .filter(Boolean);
    if (services.length > 0) await run("docker", ["service", "rm", ...services]).catch(() => {});
    // The services' containers go after the services; the volumes and networks they hold go after them.
    for (let i = 0; i < 40 && (await this.agentContainers()).length > 0; i++) await sleep(250);
    for (const id of await this.agentContainers()) await run("docker", ["rm", "-f", id]).catch(() => {});
    const volumes = (await run("docker", ["volume", "ls", "-q", "--filter", label])).stdout
      .split("\n")
      .filter(Boolean);
    if (volumes.length > 0) await run("docker", ["volume", "rm", ...volumes]).catch(() => {});
    await run("docker", ["network", "rm", agentNetworkName(this.installId)]).catch(() => {});
    await run("docker", ["network", "rm", `${agentNetworkName(this.installId)}-cfg`]).catch(() => {});
  }

  async killContainer(id: string): Promise<void> {
    await run("docker", ["kill", id]).catch(() => {});
    this.fault("agent container killed");
  }

  /** Waits until every pushed id was answered at least once (or the time is up). */
  async settle(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const { lost } = this.#count();
      if (lost.length === 0) return;
      await sleep(250);
    }
  }

  #delivered(): { text: string; at: number }[] {
    return this.wa ? this.wa.shown() : this.api.sentLog();
  }

  #count(resends = new Map<string, number>()) {
    return this.ledger.count(this.#delivered(), resends);
  }

  /** Stops the host, reads the store and counts every message. */
  async result(): Promise<ScenarioResult> {
    await this.stop();
    const store = Store.open(this.dataDir);
    try {
      const rows = store.outbox.list();
      const resends = new Map<string, number>();
      for (const r of rows) if (r.resends > 0) resends.set(r.text, (resends.get(r.text) ?? 0) + r.resends);
      let stored = 0;
      for (let i = 0; i < this.o.chats; i++) {
        stored += store.messages.since(this.chatIdOf(i), 0).filter((m) => /ack m\d/.test(m.text)).length;
      }
      return {
        name: this.o.name,
        pushed: this.ledger.pushed,
        stored,
        ...this.#count(resends),
        resends: rows.reduce((n, r) => n + r.resends, 0),
        maybeSent: rows.filter((r) => r.status === "failed-maybe-sent").length,
        faults: { ...this.faults },
        seconds: Math.round((Date.now() - this.#started) / 1000),
        notes: this.notes,
      };
    } finally {
      store.close();
    }
  }

  async close(): Promise<void> {
    await this.host?.kill("SIGKILL");
    if (this.o.runtime === "swarm") await this.#removeSwarmLeftovers();
    for (const id of await this.agentContainers()) await run("docker", ["rm", "-f", id]).catch(() => {});
    await run("docker", ["network", "rm", agentNetworkName(this.installId)]).catch(() => {});
    await this.api.close();
    await this.wa?.close();
    await this.model.llm.close();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const between = (lo: number, hi: number) => lo + Math.random() * (hi - lo);
