import { realpathSync } from "node:fs";
import type { Agent } from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import QRCode from "qrcode";
import { hasRegisteredCredentials, readLinkedAccount } from "../channels/whatsapp/auth-state.js";
import type { Timers } from "../channels/whatsapp/connection.js";
import { type LinkEvent, linkWhatsApp } from "../channels/whatsapp/link.js";
import { whatsappProxyAgent } from "../channels/whatsapp/proxy.js";
import type { SocketFactory } from "../channels/whatsapp/socket.js";
import { parseDuration } from "../config.js";
import { loadContext } from "../context.js";
import { describeError, UsageError } from "../errors.js";
import type { Logger } from "../log.js";
import { silentLogger } from "../log.js";
import { type CommandSpec, type ParseArgsOptionsConfig, parseCommand, printVersion } from "./args.js";
import { EXIT } from "./io.js";

/** Everything `runAuth` touches, injectable so tests need no network, no real terminal and no process exit. */
export interface AuthDeps {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  /** The process environment (`.env` in `cwd` is merged beneath it); `{}` when absent. */
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Overrides `<dataDir>/auth/whatsapp`. */
  authDir?: string;
  socketFactory?: SocketFactory;
  proxyAgent?: Agent;
  timers?: Timers;
  /** Aborted on Ctrl-C. */
  signal?: AbortSignal;
  log?: Logger;
  /** Turns a QR string into terminal art; `qrcode`'s small terminal rendering by default. */
  renderQr?: (qr: string) => Promise<string>;
}

export const AUTH_USAGE = `Usage: npm run auth -- whatsapp [options]

Links nestbox to a WhatsApp account (stored in <data dir>/auth/whatsapp).

Options:
  --pairing-code --phone <digits>  print a pairing code instead of a QR code; the number with its
                                   country code, digits only, no + (e.g. --phone 14155550123)
  --timeout <duration>             how long to wait for the link (default 120s)
  --force                          link again even when already linked
  --json                           one JSON object per line: qr, pairing_code, connected, failed
`;

const PHONE = /^\d{7,15}$/;
const LINK_STEPS = "WhatsApp > Settings > Linked devices > Link a device";

interface AuthArgs {
  phone?: string;
  timeoutMs: number;
  force: boolean;
  json: boolean;
}

function parseAuthArgs(argv: string[]): AuthArgs | "help" | "version" {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    throw new UsageError(`${describeError(err)}\n\n${AUTH_USAGE}`);
  }
  const { values, positionals } = parsed;
  if (parsed.help) return "help";
  if (parsed.version) return "version";
  if (positionals.length !== 1 || positionals[0] !== "whatsapp") {
    const got = positionals.length === 0 ? "no channel" : `"${positionals.join(" ")}"`;
    throw new UsageError(`only "whatsapp" can be linked, got ${got}\n\n${AUTH_USAGE}`);
  }
  const timeoutMs = parseDuration(values.timeout ?? "120s");
  if (timeoutMs === null || timeoutMs <= 0) {
    throw new UsageError(`--timeout must be a duration like 120s or 5m, got "${values.timeout}"`);
  }
  const phone = values.phone;
  if (values["pairing-code"] && phone === undefined) {
    throw new UsageError(
      "--pairing-code needs --phone <digits>: your number with its country code, e.g. --phone 14155550123",
    );
  }
  if (phone !== undefined && !PHONE.test(phone)) {
    throw new UsageError(
      `--phone must be your number with its country code, 7 to 15 digits, no + or spaces (e.g. --phone 14155550123), got "${phone}"`,
    );
  }
  return {
    ...(phone !== undefined ? { phone } : {}),
    timeoutMs,
    force: values.force ?? false,
    json: parsed.json,
  };
}

const AUTH = {
  name: "auth",
  usage: AUTH_USAGE,
  options: {
    "pairing-code": { type: "boolean" },
    phone: { type: "string" },
    timeout: { type: "string" },
    force: { type: "boolean" },
  },
  json: true,
  positionals: true,
} satisfies CommandSpec<ParseArgsOptionsConfig>;

function parse(argv: string[]) {
  return parseCommand(AUTH, argv);
}

/** `ABCD1234` as `ABCD-1234`, the way the phone shows it. */
function formatCode(code: string): string {
  return /^[A-Z0-9]{8}$/i.test(code) ? `${code.slice(0, 4)}-${code.slice(4)}` : code;
}

/**
 * `npm run auth -- whatsapp ...`: links the WhatsApp account and returns the exit code (0 linked or
 * already linked, 1 failed, 130 cancelled). Prints for people, or JSON lines with `--json`.
 */
export async function runAuth(argv: string[], deps: AuthDeps): Promise<number> {
  let json = argv.includes("--json");
  const emit = (obj: Record<string, unknown>) => deps.stdout.write(`${JSON.stringify(obj)}\n`);
  const say = (text: string) => deps.stdout.write(`${text}\n`);
  const failed = (reason: string, exitCode = 1): number => {
    if (json) emit({ event: "failed", reason });
    else deps.stderr.write(`WhatsApp linking failed: ${reason}\n`);
    return exitCode;
  };

  let args: AuthArgs | "help" | "version";
  let authDir: string;
  let proxyAgent: Agent | undefined;
  let log: Logger;
  try {
    args = parseAuthArgs(argv);
    if (args === "help") {
      say(AUTH_USAGE);
      return 0;
    }
    if (args === "version") return printVersion(deps);
    json = args.json;
    // One context (environment with .env) for the data folder, the proxy and the log level.
    const ctx = loadContext({ ...deps, env: deps.env ?? {}, cwd: deps.cwd ?? process.cwd() });
    authDir = deps.authDir ?? path.join(ctx.config.dataDir, "auth", "whatsapp");
    proxyAgent = deps.proxyAgent ?? whatsappProxyAgent(ctx.sandbox.proxy);
    const verbose = ctx.config.logLevel === "debug" || ctx.config.logLevel === "trace";
    log = deps.log ?? (verbose ? ctx.log : silentLogger());
  } catch (err) {
    return failed(describeError(err), err instanceof UsageError ? EXIT.usage : EXIT.failed);
  }

  if (!args.force && (await hasRegisteredCredentials(authDir))) {
    const phone = (await readLinkedAccount(authDir))?.split(/[:@]/)[0] ?? "";
    if (json) emit({ event: "already_linked", phone });
    else
      say(
        `WhatsApp is already linked${phone ? ` (+${phone})` : ""}; nothing to do. Pass --force to link again.`,
      );
    return 0;
  }

  const renderQr = deps.renderQr ?? ((qr: string) => QRCode.toString(qr, { type: "terminal", small: true }));
  let qrCount = 0;
  const onEvent = async (e: LinkEvent): Promise<void> => {
    if (json) {
      if (e.event === "qr") emit({ event: "qr", qr: e.qr });
      else if (e.event === "pairing_code") emit({ event: "pairing_code", code: e.code });
      return;
    }
    if (e.event === "qr") {
      const art = await renderQr(e.qr);
      say(
        qrCount++ === 0
          ? `Scan this QR code with your phone: ${LINK_STEPS}.`
          : "A new QR code (the last one expired):",
      );
      say(art);
    } else if (e.event === "pairing_code") {
      say(`Your pairing code: ${formatCode(e.code)}`);
      say(`On your phone open ${LINK_STEPS} > Link with phone number instead, and type it in.`);
    } else {
      say("Linked on the phone; finishing...");
    }
  };

  if (!json)
    say(args.phone ? `Requesting a pairing code for +${args.phone}...` : "Connecting to WhatsApp...");
  const result = await linkWhatsApp({
    authDir,
    log,
    timeoutMs: args.timeoutMs,
    onEvent,
    ...(args.phone ? { phone: args.phone } : {}),
    ...(deps.socketFactory ? { socketFactory: deps.socketFactory } : {}),
    ...(proxyAgent ? { proxyAgent } : {}),
    ...(deps.timers ? { timers: deps.timers } : {}),
    ...(deps.signal ? { signal: deps.signal } : {}),
  });
  if (!result.ok) return failed(result.reason, deps.signal?.aborted ? 130 : 1);
  if (json) emit({ event: "connected", phone: result.phone });
  else
    say(
      `Linked WhatsApp account +${result.phone}; credentials saved in ${authDir}. Start nestbox with: npm start`,
    );
  return 0;
}

async function main(): Promise<void> {
  const controller = new AbortController();
  process.once("SIGINT", () => controller.abort());
  process.once("SIGTERM", () => controller.abort());
  const code = await runAuth(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    signal: controller.signal,
  });
  // baileys may leave timers behind; the command is done.
  process.exit(code);
}

function runDirectly(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (runDirectly()) void main();
