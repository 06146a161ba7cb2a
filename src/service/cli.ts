import { spawn } from "node:child_process";
import { userInfo } from "node:os";
import path from "node:path";
import { type Command, defineCommand } from "../cli/args.js";
import { loadConfig, readEnvironment, requireModel } from "../config.js";
import { UsageError } from "../errors.js";
import {
  installService,
  type RunCommand,
  type ServiceHost,
  serviceLogs,
  serviceStatus,
  uninstallService,
} from "./service.js";

const USAGE = `Usage: nestbox service <install | uninstall | status | logs> [flags]

Runs nestbox as a service that starts at boot (or login) and restarts after a failure, with
\`start --no-terminal\`, the same node and entry you ran this with, in this folder (its .env).
Linux: a systemd user unit (~/.config/systemd/user/nestbox.service); macOS: a LaunchAgent.
  --system         a system unit in /etc/systemd/system (run with sudo; it runs as you)
  --follow, -f     logs: keep printing new lines
  --lines <n>      logs: how many lines (default 200)
`;

/**
 * The command that runs this nestbox: node, the flags it was started with (tsx's loader when run from
 * source, paths made absolute) and the entry file. Debugger flags and tsx's wrapper-only preflight are
 * dropped: a service runs one plain node process.
 */
export function launcherFrom(
  execPath: string,
  execArgv: readonly string[],
  entry: string,
  cwd: string,
): string[] {
  const flags: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const flag = execArgv[i] as string;
    if (flag.startsWith("--inspect")) continue;
    const takesValue =
      (flag === "--import" || flag === "--require" || flag === "--loader") && i + 1 < execArgv.length;
    if (!takesValue) {
      flags.push(flag);
      continue;
    }
    const value = execArgv[++i] as string;
    if (flag === "--require" && /tsx[\\/]dist[\\/]preflight\.cjs$/.test(value)) continue;
    flags.push(flag, value.startsWith(".") ? path.resolve(cwd, value) : value);
  }
  return [execPath, ...flags, path.resolve(cwd, entry)];
}

/** Runs a program for real: output captured, or handed the terminal with `inherit`. */
export const runCommand: RunCommand = (cmd, args, options = {}) =>
  new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: options.inherit ? "inherit" : ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", (err) => resolve({ code: 127, stdout, stderr: `${cmd}: ${err.message}` }));
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });

/** This machine as a {@link ServiceHost}; read at the command's edge, like processIO(). */
export function localServiceHost(env: Record<string, string | undefined>): ServiceHost {
  const me = userInfo();
  return {
    platform: process.platform,
    home: env.HOME ?? me.homedir,
    uid: process.getuid?.() ?? -1,
    user: env.SUDO_USER ?? me.username,
    run: runCommand,
  };
}

/** `nestbox service ...`; `launcher` is how this process was started (see {@link launcherFrom}). */
export function serviceCommand(
  launcher: readonly string[],
  host?: (env: Record<string, string | undefined>) => ServiceHost,
): Command {
  return defineCommand(
    {
      name: "service",
      usage: USAGE,
      positionals: true,
      options: {
        system: { type: "boolean" },
        follow: { type: "boolean", short: "f" },
        lines: { type: "string" },
      },
    },
    async ({ values, positionals }, io) => {
      const [action, ...extra] = positionals;
      if (extra.length > 0 || !action)
        throw new UsageError('"service" takes one of install, uninstall, status, logs');
      const machine = (host ?? localServiceHost)(io.env);
      const system = values.system === true;
      switch (action) {
        case "install": {
          // Validated now, so a unit is never installed for a configuration that cannot start.
          const config = loadConfig(readEnvironment(io.env, io.cwd), io.cwd);
          requireModel(config);
          if (launcher.length === 0)
            throw new UsageError("cannot tell how this nestbox was started: run it as nestbox or npm run");
          const spec = {
            workingDir: io.cwd,
            command: launcher,
            envFile: path.join(io.cwd, ".env"),
            user: machine.user,
            stdioLog: path.join(config.dataDir, "logs", "launchd.log"),
          };
          return installService(io, machine, spec, system);
        }
        case "uninstall":
          return uninstallService(io, machine, system);
        case "status":
          return serviceStatus(machine, system);
        case "logs": {
          const lines = Number(values.lines ?? "200");
          if (!Number.isInteger(lines) || lines < 1)
            throw new UsageError("--lines takes a whole number, e.g. --lines 500");
          const config = loadConfig(readEnvironment(io.env, io.cwd), io.cwd);
          const logFile = config.logFile ?? path.join(config.dataDir, "logs", "nestbox.log");
          return serviceLogs(machine, { system, follow: values.follow === true, lines, logFile });
        }
        default:
          throw new UsageError(`unknown service action "${action}": use install, uninstall, status or logs`);
      }
    },
  );
}
