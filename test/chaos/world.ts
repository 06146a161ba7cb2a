// One chaos scenario's world: a data folder with registered Telegram chats, the Bot API double (real
// offset semantics, long polling, fault switches), the chaos model, and the real host process
// (`nestbox start`, real agent containers), which the scenario may SIGKILL and restart at will.
import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { agentNetworkName, LABELS } from "../../src/containers/agent-spec.js";
import { registerChat } from "../../src/registration/register-chat.js";
import { Store } from "../../src/store/index.js";
import { TelegramBotApiDouble } from "../doubles/telegram-bot-api.js";
import { type LiveProcess, startHost } from "../process.js";
import { Ledger, type ScenarioResult } from "./ledger.js";
import { type ChaosModel, startChaosModel } from "./model.js";

const run = promisify(execFile);
const root = path.join(import.meta.dirname, "..", "..");

/** Telegram chat ids of the scenario's groups (chat index i -> CHAT_BASE + i). */
const CHAT_BASE = 7100;

export interface WorldOptions {
  name: string;
  chats: number;
  agentImage: string;
  /** MODEL_RETRY_WINDOW / MODEL_STALL_TIMEOUT for the host. */
  retryWindow?: string;
  stallTimeout?: string;
  /** Print the host's log lines to stderr. */
  verbose?: boolean;
}

export class ChaosWorld {
  readonly ledger = new Ledger();
  readonly faults: Record<string, number> = {};
  readonly notes: string[] = [];
  readonly dataDir: string;
  readonly installId: string;
  api!: TelegramBotApiDouble;
  model!: ChaosModel;
  host: LiveProcess | null = null;
  #started = Date.now();
  #allowlist: string;

  private constructor(readonly o: WorldOptions) {
    this.dataDir = mkdtempSync(path.join(tmpdir(), `nestbox-chaos-${o.name}-`));
    // As a real data folder: the start-up probe's container (another uid) must be able to look in.
    chmodSync(this.dataDir, 0o755);
    this.installId = `chaos${Date.now().toString(36)}`;
    this.#allowlist = path.join(mkdtempSync(path.join(tmpdir(), "nestbox-chaos-cfg-")), "allowlist.json");
  }

  static async create(o: WorldOptions): Promise<ChaosWorld> {
    const w = new ChaosWorld(o);
    w.api = new TelegramBotApiDouble();
    await w.api.start();
    w.model = await startChaosModel();
    const seed = Store.open(w.dataDir);
    seed.meta.set("install_id", w.installId);
    seed.close();
    for (let i = 0; i < o.chats; i++) {
      registerChat(w.dataDir, {
        assistantName: "Andy",
        chat: {
          chatId: `tg:${w.chatNumber(i)}`,
          channel: "telegram",
          name: `chaos ${i}`,
          folder: `chaos-${i}`,
          trigger: "@Andy",
          requiresTrigger: false,
          isMain: i === 0,
          allowedSenders: null,
          limits: null,
          extraMounts: [],
          createdAt: Date.now(),
        },
      });
    }
    return w;
  }

  chatNumber(i: number): number {
    return CHAT_BASE + i;
  }

  fault(kind: string, n = 1): void {
    this.faults[kind] = (this.faults[kind] ?? 0) + n;
  }

  /** Starts the real host and waits until it polls Telegram. */
  async start(): Promise<LiveProcess> {
    const polls = this.api.callsOf("getUpdates").length;
    const host = startHost(root, {
      NESTBOX_DATA_DIR: this.dataDir,
      TELEGRAM_BOT_TOKEN: this.api.token,
      TELEGRAM_API_ROOT: this.api.apiRoot,
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
    });
    if (this.o.verbose) host.child.stdout?.pipe(process.stderr);
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
    const text = this.ledger.nextText(i, `tg:${this.chatNumber(i)}`);
    this.api.pushMessage({ chatId: this.chatNumber(i), text });
    return text;
  }

  /** Agent containers of this install running right now. */
  async agentContainers(): Promise<string[]> {
    const { stdout } = await run("docker", [
      "ps",
      "-q",
      "--filter",
      `label=${LABELS.install}=${this.installId}`,
    ]);
    return stdout.split("\n").filter(Boolean);
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
    return this.api.sentLog();
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
        stored += store.messages
          .since(`tg:${this.chatNumber(i)}`, 0)
          .filter((m) => /ack m\d/.test(m.text)).length;
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
    for (const id of await this.agentContainers()) await run("docker", ["rm", "-f", id]).catch(() => {});
    await run("docker", ["network", "rm", agentNetworkName(this.installId)]).catch(() => {});
    await this.api.close();
    await this.model.llm.close();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const between = (lo: number, hi: number) => lo + Math.random() * (hi - lo);
