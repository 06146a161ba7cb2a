import { UsageError } from "../errors.js";

/** What a service runs: the same node, flags and entry file the user ran, in the project folder. */
export interface ServiceSpec {
  /** The project folder: working directory, where `.env` and (by default) `data/` are. */
  workingDir: string;
  /** node, its flags (tsx's loader when run from source) and the entry file; `start --no-terminal` is added. */
  command: readonly string[];
  /** The environment file systemd reads (the project's `.env`); a missing file is allowed. */
  envFile: string;
  /** A system unit runs as this account (never root by accident); unused for user units. */
  user?: string;
  /** Where launchd writes what the process prints (its own log goes to data/logs/ as well). */
  stdioLog?: string;
}

/** The arguments after the entry: what a service runs. */
export const SERVICE_ARGS = ["start", "--no-terminal"] as const;

/** The systemd unit's name. */
export const SYSTEMD_UNIT = "nestbox.service";
/** The launchd job's label (its plist is `<label>.plist`). */
export const LAUNCHD_LABEL = "local.nestbox";

/** A line break in a path would end the setting and start a new one: refused, never written. */
function singleLine(value: string): string {
  if (/[\n\r\0]/.test(value))
    throw new UsageError(`a path with a line break cannot go into a service file: ${JSON.stringify(value)}`);
  return value;
}

/** A path setting (WorkingDirectory=, EnvironmentFile=): `%` starts a specifier, so it is doubled. */
function systemdPath(value: string): string {
  return singleLine(value).replace(/%/g, "%%");
}

/**
 * One ExecStart= argument: quoted when it holds whitespace or quotes, with `\` and `"` escaped inside;
 * `%` (specifiers) and `$` (variable expansion) doubled so the path is taken literally.
 */
export function systemdArg(value: string): string {
  const literal = singleLine(value).replace(/%/g, "%%").replace(/\$/g, "$$$$");
  if (literal !== "" && !/[\s"'\\;]/.test(literal)) return literal;
  return `"${literal.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/**
 * The systemd unit: restarted on failure (a crash, or exit 129 after SIGHUP), stopped with SIGTERM to
 * the host alone (it stops its agents itself), stdin at /dev/null. `system` adds `User=` and starts at boot.
 */
export function systemdUnit(spec: ServiceSpec, system: boolean): string {
  const exec = [...spec.command, ...SERVICE_ARGS].map(systemdArg).join(" ");
  return [
    "[Unit]",
    `Description=nestbox chat bot host (${systemdPath(spec.workingDir)})`,
    "Wants=network-online.target",
    "After=network-online.target docker.service",
    "",
    "[Service]",
    "Type=simple",
    ...(system && spec.user ? [`User=${systemdPath(spec.user)}`] : []),
    `WorkingDirectory=${systemdPath(spec.workingDir)}`,
    `EnvironmentFile=-${systemdPath(spec.envFile)}`,
    `ExecStart=${exec}`,
    "StandardInput=null",
    "Restart=on-failure",
    "RestartSec=5",
    // SIGTERM to the host only: it drains turns (10 s) and removes its agent containers itself.
    "KillMode=mixed",
    "TimeoutStopSec=45",
    "",
    "[Install]",
    `WantedBy=${system ? "multi-user.target" : "default.target"}`,
    "",
  ].join("\n");
}

function xml(value: string): string {
  return singleLine(value)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

/**
 * The launchd job (~/Library/LaunchAgents): started at login, restarted when it exits unsuccessfully
 * (KeepAlive.SuccessfulExit=false), in the project folder where it reads `.env` itself.
 */
export function launchdPlist(spec: ServiceSpec): string {
  const args = [...spec.command, ...SERVICE_ARGS].map((a) => `    <string>${xml(a)}</string>`);
  const log = spec.stdioLog ? xml(spec.stdioLog) : "/dev/null";
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<plist version="1.0">',
    "<dict>",
    "  <key>Label</key>",
    `  <string>${LAUNCHD_LABEL}</string>`,
    "  <key>ProgramArguments</key>",
    "  <array>",
    ...args,
    "  </array>",
    "  <key>WorkingDirectory</key>",
    `  <string>${xml(spec.workingDir)}</string>`,
    "  <key>RunAtLoad</key>",
    "  <true/>",
    "  <key>KeepAlive</key>",
    "  <dict>",
    "    <key>SuccessfulExit</key>",
    "    <false/>",
    "  </dict>",
    "  <key>ThrottleInterval</key>",
    "  <integer>5</integer>",
    "  <key>StandardInPath</key>",
    "  <string>/dev/null</string>",
    "  <key>StandardOutPath</key>",
    `  <string>${log}</string>`,
    "  <key>StandardErrorPath</key>",
    `  <string>${log}</string>`,
    "</dict>",
    "</plist>",
    "",
  ].join("\n");
}
