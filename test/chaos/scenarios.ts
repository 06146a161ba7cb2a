// The chaos scenarios. Each builds a world, injects its faults while users write, ends with a calm
// stretch (no faults, host running) and counts every message. `short` is CI's profile, `full` the
// documented one (docs/reliability.md).

import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { ScenarioResult } from "./ledger.js";
import { between, ChaosWorld, sleep } from "./world.js";

export type Profile = "short" | "full";

export interface ScenarioContext {
  profile: Profile;
  agentImage: string;
  verbose: boolean;
}

export interface Scenario {
  name: string;
  /** What it does, for the report. */
  what: string;
  run(ctx: ScenarioContext): Promise<ScenarioResult>;
}

const n = (ctx: ScenarioContext, short: number, full: number) => (ctx.profile === "short" ? short : full);

async function withWorld(
  ctx: ScenarioContext,
  name: string,
  options: {
    chats: number;
    retryWindow?: string;
    stallTimeout?: string;
    channel?: "telegram" | "whatsapp";
    runtime?: "local" | "swarm";
  },
  body: (w: ChaosWorld) => Promise<void>,
  settleMs = 60_000,
): Promise<ScenarioResult> {
  const w = await ChaosWorld.create({ name, agentImage: ctx.agentImage, verbose: ctx.verbose, ...options });
  try {
    await w.start();
    await body(w);
    if (!w.host) await w.start();
    await w.settle(settleMs);
    return await w.result();
  } finally {
    await w.close();
  }
}

/** Users write `count` messages round-robin over the chats, `gapMs` apart, while `during` runs. */
async function traffic(w: ChaosWorld, chats: number, count: number, gapMs: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    w.push(i % chats);
    await sleep(gapMs);
  }
}

export const SCENARIOS: Scenario[] = [
  {
    name: "baseline",
    what: "no faults",
    run: (ctx) => withWorld(ctx, "baseline", { chats: 3 }, (w) => traffic(w, 3, n(ctx, 15, 200), 50)),
  },
  {
    name: "host-kills",
    what: "host SIGKILLed at random while users write",
    run: (ctx) =>
      withWorld(ctx, "host-kills", { chats: 3 }, async (w) => {
        const kills = n(ctx, 3, 12);
        const per = n(ctx, 8, 16);
        for (let k = 0; k < kills; k++) {
          const writing = traffic(w, 3, per, 60);
          await sleep(between(300, per * 60 + 1500));
          await w.kill();
          await writing;
          await w.start();
        }
      }),
  },
  {
    name: "kill-intake-blocked",
    what: "SIGKILL while Telegram holds a /chatid answer 8 s and the chat's later messages arrive",
    run: (ctx) =>
      withWorld(ctx, "kill-intake-blocked", { chats: 2 }, async (w) => {
        for (let round = 0; round < n(ctx, 2, 6); round++) {
          w.api.holdNext("sendMessage", 8_000, 1);
          const sends = w.api.callsOf("sendMessage").length;
          w.api.pushMessage({
            chatId: w.chatNumber(0),
            text: "/chatid",
            entities: [{ type: "bot_command", offset: 0, length: 7 }],
          });
          await waitUntil(() => w.api.callsOf("sendMessage").length > sends, 20_000);
          await traffic(w, 2, 8, 40);
          await sleep(800);
          await w.kill();
          await w.start();
        }
      }),
  },
  {
    name: "kill-during-send",
    what: "SIGKILL while a reply's sendMessage is in flight (Telegram holds it)",
    run: (ctx) =>
      withWorld(ctx, "kill-during-send", { chats: 2 }, async (w) => {
        for (let round = 0; round < n(ctx, 3, 10); round++) {
          w.api.holdNext("sendMessage", 60_000, 1);
          const sends = w.api.callsOf("sendMessage").length;
          w.push(round % 2);
          await waitUntil(() => w.api.callsOf("sendMessage").length > sends, 30_000);
          await sleep(200);
          await w.kill();
          w.api.stopHolding("sendMessage");
          await w.start();
          // The killed send is resent once at start; the next kill must hit a new reply, not that resend
          // (two ambiguous sends of one reply are given up, by the at-most-one-resend rule).
          await w.settle(30_000);
        }
      }),
  },
  {
    name: "answer-lost",
    what: "Telegram stores the reply, the connection drops before its answer",
    run: (ctx) =>
      withWorld(ctx, "answer-lost", { chats: 2 }, async (w) => {
        const times = n(ctx, 3, 10);
        w.api.storeThenDrop(times);
        w.fault("reply stored, answer lost", times);
        await traffic(w, 2, n(ctx, 8, 30), 300);
      }),
  },
  {
    name: "telegram-outage",
    what: "Telegram refuses connections, then black-holes every request",
    run: (ctx) =>
      withWorld(
        ctx,
        "telegram-outage",
        { chats: 2 },
        async (w) => {
          const stretch = n(ctx, 6_000, 20_000);
          await traffic(w, 2, 4, 100);
          await w.api.goDown();
          w.fault("Telegram down (refused)", 1);
          await sleep(stretch);
          await w.api.comeBack();
          await traffic(w, 2, 4, 100);
          w.api.blackhole(true);
          w.fault("Telegram black-holed", 1);
          await sleep(stretch);
          w.api.blackhole(false);
          await traffic(w, 2, 4, 100);
        },
        120_000,
      ),
  },
  {
    name: "container-kills",
    what: "agent containers docker-killed mid-turn",
    run: (ctx) =>
      withWorld(ctx, "container-kills", { chats: 3 }, async (w) => {
        w.model.delayMs = 1_500;
        for (let k = 0; k < n(ctx, 3, 20); k++) {
          w.push(k % 3);
          await sleep(between(700, 1_400));
          // The container of the chat whose turn is in flight: one kill per turn (the supervisor retries
          // a killed turn in a new container; three crashes of one turn are a crash loop, told to the chat).
          const [id] = await w.agentContainers(k % 3);
          if (id) await w.killContainer(id);
          await sleep(1_500);
        }
        w.model.delayMs = 0;
      }),
  },
  {
    name: "model-500",
    what: "stretches of HTTP 500 from the model, shorter than the retry window",
    run: (ctx) =>
      withWorld(ctx, "model-500", { chats: 3, retryWindow: "30s" }, async (w) => {
        for (let s = 0; s < n(ctx, 1, 3); s++) {
          w.model.mode = "500";
          w.fault("model 500 stretch");
          await traffic(w, 3, 6, 300);
          await sleep(n(ctx, 6_000, 20_000));
          w.model.mode = "ok";
          await traffic(w, 3, 3, 100);
          // Up long enough for every request still backing off (15 s at most between tries) to get
          // through before the next stretch: separate outages, not one long one with 3 s gaps.
          await sleep(n(ctx, 3_000, 17_000));
        }
        w.notes.push(`model answered 500 to ${w.model.faults["500"]} requests`);
      }),
  },
  {
    name: "model-hang",
    what: "the model accepts requests and never answers (the stall limit cuts them)",
    run: (ctx) =>
      withWorld(ctx, "model-hang", { chats: 2, stallTimeout: "3s" }, async (w) => {
        for (let s = 0; s < n(ctx, 1, 3); s++) {
          w.model.mode = "hang";
          w.fault("model hung");
          await traffic(w, 2, 2, 100);
          await sleep(2_000);
          w.model.mode = "ok";
          await sleep(5_000);
        }
        w.notes.push(`${w.model.faults.hang} requests hung`);
      }),
  },
  {
    name: "slow-chat",
    what: "every send to one chat hangs 20 s; the other chats' replies must not wait",
    run: (ctx) =>
      withWorld(ctx, "slow-chat", { chats: 3 }, async (w) => {
        w.api.holdSendsTo(w.chatNumber(0), 20_000);
        w.fault("chat with hanging sends");
        await traffic(w, 3, n(ctx, 9, 30), 200);
        await sleep(5_000);
        w.api.holdSendsTo(w.chatNumber(0), 0);
      }),
  },
  {
    name: "whatsapp-kills",
    what: "WhatsApp (injected socket, baileys' event buffer): host SIGKILLed at random while users write",
    run: (ctx) =>
      withWorld(ctx, "whatsapp-kills", { chats: 2, channel: "whatsapp" }, async (w) => {
        for (let k = 0; k < n(ctx, 3, 12); k++) {
          const writing = traffic(w, 2, 8, 60);
          await sleep(between(300, 1_800));
          await w.kill();
          await writing;
          await w.start();
        }
      }),
  },
  {
    name: "whatsapp-answer-lost",
    what: "WhatsApp stores a reply and the connection drops before its ack (resent with the same id)",
    run: (ctx) =>
      withWorld(ctx, "whatsapp-answer-lost", { chats: 2, channel: "whatsapp" }, async (w) => {
        const wa = w.wa as NonNullable<typeof w.wa>;
        const times = n(ctx, 3, 10);
        wa.dropAfterStore = times;
        w.fault("reply stored, ack lost", times);
        await traffic(w, 2, n(ctx, 8, 30), 300);
        await sleep(3_000);
        w.notes.push(`${wa.sends} sends for ${wa.shown().length} messages shown (resends carry the same id)`);
      }),
  },
  {
    name: "swarm-kills",
    what: "AGENT_RUNTIME=swarm: agent tasks killed mid-turn, and the host SIGKILLed with services running",
    run: (ctx) =>
      inSwarm(() =>
        withWorld(ctx, "swarm-kills", { chats: 3, runtime: "swarm" }, async (w) => {
          w.model.delayMs = 1_000;
          for (let k = 0; k < n(ctx, 4, 12); k++) {
            const writing = traffic(w, 3, 6, 120);
            await sleep(between(700, 1_400));
            // A task's container dies mid-turn: the supervisor retries the turn on a new service.
            const [id] = await w.agentContainers(k % 3);
            if (id) await w.killContainer(id);
            await writing;
            // Every other round the host dies too: its services stay behind, the next start reaps them.
            if (k % 2 === 1) {
              await w.kill();
              await w.start();
            }
            await sleep(1_000);
          }
          w.model.delayMs = 0;
        }),
      ),
  },
];

/** Runs `body` with the local daemon in a swarm: initialised here when it is not, and left after only then. */
async function inSwarm<T>(body: () => Promise<T>): Promise<T> {
  const docker = (...args: string[]) => promisify(execFile)("docker", args, { encoding: "utf8" });
  const state = (await docker("info", "--format", "{{.Swarm.LocalNodeState}}")).stdout.trim();
  const init = state !== "active";
  if (init) await docker("swarm", "init", "--advertise-addr", "127.0.0.1");
  try {
    return await body();
  } finally {
    if (init) await docker("swarm", "leave", "--force");
  }
}

async function waitUntil(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("chaos: a scenario step did not happen in time");
    await sleep(25);
  }
}
