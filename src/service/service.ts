import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { CommandIO } from "../cli/io.js";
import { NestboxError, UsageError } from "../errors.js";
import { envFileMismatches } from "./env-file.js";
import { LAUNCHD_LABEL, launchdPlist, type ServiceSpec, SYSTEMD_UNIT, systemdUnit } from "./unit-files.js";

/** Runs a program; `inherit` hands it the terminal (status, logs -f). Injected: tests never run systemctl. */
export type RunCommand = (
  cmd: string,
  args: string[],
  options?: { inherit?: boolean },
) => Promise<{ code: number; stdout: string; stderr: string }>;

/** The machine a service is installed on. */
export interface ServiceHost {
  platform: NodeJS.Platform;
  home: string;
  /** Effective uid (0: root); -1 where there is none. */
  uid: number;
  /** The account the user is (SUDO_USER when run with sudo). */
  user: string;
  run: RunCommand;
  /** Where system units go; /etc/systemd/system by default. */
  systemDir?: string;
}

/** Which service manager and file a command works on. */
export interface ServiceTarget {
  kind: "systemd-user" | "systemd-system" | "launchd";
  file: string;
}

/** The unit or plist path for this machine; `--system` is for systemd only and needs root. */
export function serviceTarget(host: ServiceHost, system: boolean): ServiceTarget {
  if (host.platform === "darwin") {
    if (system)
      throw new UsageError("--system is for systemd; on macOS nestbox installs a LaunchAgent for your user");
    return {
      kind: "launchd",
      file: path.join(host.home, "Library", "LaunchAgents", `${LAUNCHD_LABEL}.plist`),
    };
  }
  if (host.platform !== "linux") {
    throw new UsageError(
      `nestbox service supports Linux (systemd) and macOS (launchd), not ${host.platform}`,
    );
  }
  if (system)
    return { kind: "systemd-system", file: path.join(host.systemDir ?? "/etc/systemd/system", SYSTEMD_UNIT) };
  return { kind: "systemd-user", file: path.join(host.home, ".config", "systemd", "user", SYSTEMD_UNIT) };
}

type Invocation = [cmd: string, args: string[]];

const systemctl = (t: ServiceTarget, ...args: string[]): Invocation => [
  "systemctl",
  [...(t.kind === "systemd-user" ? ["--user"] : []), ...args],
];

async function must(host: ServiceHost, [cmd, args]: Invocation, what: string): Promise<void> {
  const r = await host.run(cmd, args);
  if (r.code !== 0) {
    const detail = (r.stderr || r.stdout).trim().split("\n")[0] ?? "";
    const hint = /connect to bus/i.test(detail)
      ? " (no systemd session for this user here: log in as the user, or use --system with sudo)"
      : "";
    throw new NestboxError(
      "SERVICE_COMMAND_FAILED",
      `${what} failed: ${cmd} ${args.join(" ")} exited ${r.code}: ${detail}${hint}`,
    );
  }
}

/** Writes the unit (or plist), then enables and starts it; prints where it is and what to do next. */
export async function installService(
  io: CommandIO,
  host: ServiceHost,
  spec: ServiceSpec,
  system: boolean,
): Promise<number> {
  if (system && host.uid !== 0) {
    throw new UsageError(
      "--system writes /etc/systemd/system: run it with sudo, or drop --system for a user unit",
    );
  }
  const target = serviceTarget(host, system);
  if (target.kind !== "launchd" && existsSync(spec.envFile)) {
    for (const key of envFileMismatches(readFileSync(spec.envFile, "utf8"))) {
      io.stderr.write(
        `warning: systemd reads ${key} from ${spec.envFile} differently than nestbox (an inline comment or quotes?), and its value wins: put comments on their own line\n`,
      );
    }
  }
  const content = target.kind === "launchd" ? launchdPlist(spec) : systemdUnit(spec, system);
  mkdirSync(path.dirname(target.file), { recursive: true });
  writeFileSync(target.file, content, { mode: 0o644 });
  io.stdout.write(`wrote ${target.file}\n`);
  if (target.kind === "launchd") {
    // launchd opens the output file itself, and does not create its folder.
    if (spec.stdioLog) mkdirSync(path.dirname(spec.stdioLog), { recursive: true });
    const domain = `gui/${host.uid}`;
    await host.run("launchctl", ["bootout", `${domain}/${LAUNCHD_LABEL}`]); // an older copy; absent is fine
    await must(host, ["launchctl", ["bootstrap", domain, target.file]], "loading the LaunchAgent");
    io.stdout.write(`started ${LAUNCHD_LABEL}; it starts again at login and after a failure\n`);
    return 0;
  }
  await must(host, systemctl(target, "daemon-reload"), "reloading systemd");
  await must(host, systemctl(target, "enable", "--now", SYSTEMD_UNIT), `enabling ${SYSTEMD_UNIT}`);
  io.stdout.write(`started ${SYSTEMD_UNIT}; it restarts after a failure\n`);
  if (target.kind === "systemd-user") {
    const linger = await host.run("loginctl", ["show-user", host.user, "--property=Linger"]);
    if (!/Linger=yes/.test(linger.stdout)) {
      io.stdout.write(
        `To keep it running after you log out, and start it at boot: sudo loginctl enable-linger ${host.user}\n`,
      );
    }
  }
  io.stdout.write("Status: nestbox service status   Logs: nestbox service logs\n");
  return 0;
}

/** Stops and disables the service and removes its file; one that is not installed is not an error. */
export async function uninstallService(io: CommandIO, host: ServiceHost, system: boolean): Promise<number> {
  if (system && host.uid !== 0) throw new UsageError("--system edits /etc/systemd/system: run it with sudo");
  const target = serviceTarget(host, system);
  if (target.kind === "launchd") {
    await host.run("launchctl", ["bootout", `gui/${host.uid}/${LAUNCHD_LABEL}`]);
  } else {
    await host.run(...systemctl(target, "disable", "--now", SYSTEMD_UNIT));
  }
  if (existsSync(target.file)) {
    rmSync(target.file);
    io.stdout.write(`removed ${target.file}\n`);
  } else io.stdout.write(`${target.file} was not installed\n`);
  if (target.kind !== "launchd") await host.run(...systemctl(target, "daemon-reload"));
  return 0;
}

/** The service manager's own view (systemctl status / launchctl print); its exit code is passed on. */
export async function serviceStatus(host: ServiceHost, system: boolean): Promise<number> {
  const target = serviceTarget(host, system);
  const [cmd, args]: Invocation =
    target.kind === "launchd"
      ? ["launchctl", ["print", `gui/${host.uid}/${LAUNCHD_LABEL}`]]
      : systemctl(target, "status", SYSTEMD_UNIT, "--no-pager");
  return (await host.run(cmd, args, { inherit: true })).code;
}

/** The service's log: the journal under systemd, the host's own log file under launchd. */
export async function serviceLogs(
  host: ServiceHost,
  o: { system: boolean; follow: boolean; lines: number; logFile: string },
): Promise<number> {
  const target = serviceTarget(host, o.system);
  const tail = [...(o.follow ? ["-f"] : []), "-n", String(o.lines)];
  if (target.kind === "launchd")
    return (await host.run("tail", [...tail, o.logFile], { inherit: true })).code;
  const scope = target.kind === "systemd-user" ? ["--user"] : [];
  return (
    await host.run("journalctl", [...scope, "-u", SYSTEMD_UNIT, "--no-pager", ...tail], { inherit: true })
  ).code;
}
