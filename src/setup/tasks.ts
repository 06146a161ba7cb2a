import { existsSync } from "node:fs";
import path from "node:path";
import { type CommandSpec, defineCommand, type ParseArgsOptionsConfig } from "../cli/args.js";
import { type CommandIO, EXIT } from "../cli/io.js";
import type { Config } from "../config.js";
import { loadContext } from "../context.js";
import { UsageError } from "../errors.js";
import { Store } from "../store/index.js";
import { taskLine } from "../tasks/host-tools.js";
import { describeRun, describeSchedule } from "../tasks/schedule.js";
import { TaskService } from "../tasks/service.js";
import type { Task } from "../tasks/task.js";

const TASKS = {
  name: "setup tasks",
  usage: `Usage: npm run setup -- tasks [--chat <chat id>] [--all] [--json]

Lists scheduled tasks (active and paused; --all also done and failed ones), with their next run in the
configured time zone (TZ) and their last failure.
`,
  options: { chat: { type: "string" }, all: { type: "boolean" } },
  json: true,
} satisfies CommandSpec<ParseArgsOptionsConfig>;

const TASK = {
  name: "setup task",
  usage: `Usage: npm run setup -- task add --chat <chat id> (--cron "<5 fields>" | --every <duration> | --at <time>)
                              --prompt <text> [--context group|isolated] [--json]
       npm run setup -- task pause|resume|cancel <task id> [--json]

  --cron     a 5-field cron expression in the time zone TZ, e.g. "0 8 * * 1-5" (weekdays at 08:00)
  --every    an interval: 90s, 10m, 2h, 1d (at least TASK_MIN_INTERVAL, default 1m)
  --at       once: an ISO 8601 time (2026-12-24T08:00, local to TZ without an offset) or "in 10m"
  --prompt   what the assistant should do each time
  --context  group (default): runs in the chat's conversation and sees its history;
             isolated: a fresh session each run
A running host picks up changes made here within 10 seconds.
`,
  options: {
    chat: { type: "string" },
    cron: { type: "string" },
    every: { type: "string" },
    at: { type: "string" },
    prompt: { type: "string" },
    context: { type: "string" },
  },
  json: true,
  positionals: true,
} satisfies CommandSpec<ParseArgsOptionsConfig>;

/** Opens the store and a task service acting as the operator; the callback's result is returned. */
function withService<T>(config: Config, body: (service: TaskService, store: Store) => T): T {
  if (!existsSync(path.join(config.dataDir, "nestbox.db"))) {
    throw new UsageError(
      `no nestbox data in ${config.dataDir} yet: register a chat first ("npm run setup -- register --help")`,
    );
  }
  const store = Store.open(config.dataDir);
  try {
    return body(new TaskService({ store, timezone: config.timezone, limits: config.tasks }), store);
  } finally {
    store.close();
  }
}

const CLI = { kind: "cli" } as const;

/** `setup tasks`: the tasks with their next run and last failure. */
export const tasks = defineCommand(TASKS, async ({ values, json }, io) => {
  const { config } = loadContext(io);
  const list = withService(config, (service) => service.list(CLI, values.chat, { all: values.all === true }));
  if (json) io.stdout.write(`${JSON.stringify(list)}\n`);
  else printTasks(io, list, config.timezone);
  return EXIT.ok;
});

function printTasks(io: CommandIO, list: Task[], timezone: string): void {
  if (list.length === 0) {
    io.stdout.write(
      'No scheduled tasks. Ask the assistant ("remind me at 17:00 to ...") or run "npm run setup -- task --help".\n',
    );
    return;
  }
  const now = Date.now();
  for (const t of list) io.stdout.write(`${taskLine(t, timezone, now)}\n`);
  io.stdout.write(`Times are in ${timezone} (TZ).\n`);
}

/** `setup task add|pause|resume|cancel`. */
export const task = defineCommand(TASK, async ({ values, positionals, json }, io) => {
  const [action, ...rest] = positionals;
  const { config } = loadContext(io);
  const done = (t: Task, what: string) => {
    if (json) io.stdout.write(`${JSON.stringify({ ok: true, task: t })}\n`);
    else io.stdout.write(`${what}\n`);
    return EXIT.ok;
  };
  if (action === "add") {
    if (rest.length > 0)
      throw new UsageError(`unexpected argument "${rest[0]}": "task add" takes flags only`);
    const given = (["cron", "every", "at"] as const).filter((k) => values[k] !== undefined);
    if (given.length !== 1) {
      throw new UsageError("task add needs exactly one of --cron, --every or --at (see --help)");
    }
    if (!values.chat) throw new UsageError('task add needs --chat <chat id> (see "npm run setup -- chats")');
    if (!values.prompt) throw new UsageError("task add needs --prompt <what the assistant should do>");
    const kind = given[0] as "cron" | "every" | "at";
    const type = kind === "cron" ? "cron" : kind === "every" ? "interval" : "once";
    const t = withService(config, (service) =>
      service.schedule(CLI, {
        chatId: values.chat,
        prompt: values.prompt as string,
        scheduleType: type,
        scheduleValue: values[kind] as string,
        ...(values.context === undefined ? {} : { contextMode: values.context }),
      }),
    );
    const next =
      t.nextRunAt === null ? "" : `, next run ${describeRun(t.nextRunAt, Date.now(), config.timezone)}`;
    return done(t, `Task ${t.id} for ${t.chatId}: ${describeSchedule(t.schedule, config.timezone)}${next}.`);
  }
  if (action === "pause" || action === "resume" || action === "cancel") {
    if (rest.length !== 1) throw new UsageError(`task ${action} takes one task id, e.g. "task ${action} 3"`);
    const id = Number(rest[0]);
    if (!Number.isInteger(id) || id < 1) {
      throw new UsageError(`"${rest[0]}" is not a task id: use the number "npm run setup -- tasks" shows`);
    }
    const t = withService(config, (service) => service[action](CLI, id));
    return done(
      t,
      `Task ${t.id}: ${action === "cancel" ? "cancelled" : `${action}d`}${t.nextRunAt === null ? "" : `, next run ${describeRun(t.nextRunAt, Date.now(), config.timezone)}`}.`,
    );
  }
  throw new UsageError(
    action === undefined
      ? "task needs an action: add, pause, resume or cancel (see --help)"
      : `unknown task action "${action}": use add, pause, resume or cancel`,
  );
});
