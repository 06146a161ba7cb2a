import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { captureIO } from "../../test/doubles/command-io.js";
import { runNestbox } from "../cli/commands.js";
import { launcherFrom } from "./cli.js";
import type { RunCommand, ServiceHost } from "./service.js";
import { systemdUnit } from "./unit-files.js";

let home: string;
let project: string;
let calls: string[];
let answers: Record<string, { code: number; stdout?: string; stderr?: string }>;
beforeEach(() => {
  home = mkdtempSync(path.join(tmpdir(), "nestbox-home-"));
  project = mkdtempSync(path.join(tmpdir(), "nestbox project "));
  writeFileSync(path.join(project, ".env"), "MODEL=m\nOPENAI_BASE_URL=http://127.0.0.1:1/v1\n");
  calls = [];
  answers = {};
});
afterEach(() => {
  rmSync(home, { recursive: true, force: true });
  rmSync(project, { recursive: true, force: true });
});

/** Records each command line instead of running it; answers from `answers` (by command line prefix). */
const run: RunCommand = async (cmd, args, options) => {
  const lineOf = [cmd, ...args].join(" ");
  calls.push(options?.inherit ? `${lineOf} (terminal)` : lineOf);
  const key = Object.keys(answers).find((k) => lineOf.startsWith(k));
  const a = key ? answers[key] : undefined;
  return { code: a?.code ?? 0, stdout: a?.stdout ?? "", stderr: a?.stderr ?? "" };
};

const LAUNCHER = ["/usr/bin/node", "/opt/nestbox/dist/src/cli/nestbox.js"];

async function service(argv: string[], over: Partial<ServiceHost> = {}) {
  const { io, out } = captureIO({}, project);
  const host: ServiceHost = { platform: "linux", home, uid: 1000, user: "alice", run, ...over };
  const code = await runNestbox(["service", ...argv], io, {
    stdin: new PassThrough(),
    stdout: new PassThrough(),
    projectDir: project,
    stopSignal: () => new Promise(() => {}),
    launcher: LAUNCHER,
    serviceHost: () => host,
  });
  return { code, ...out() };
}

const userUnit = () => path.join(home, ".config", "systemd", "user", "nestbox.service");

describe("nestbox service (systemd)", () => {
  it("install writes the user unit, enables and starts it, and gives the linger hint", async () => {
    answers["loginctl show-user"] = { code: 0, stdout: "Linger=no\n" };
    const r = await service(["install"]);
    expect(r.code).toBe(0);
    expect(readFileSync(userUnit(), "utf8")).toBe(
      systemdUnit(
        { workingDir: project, command: LAUNCHER, envFile: path.join(project, ".env"), user: "alice" },
        false,
      ),
    );
    expect(calls).toEqual([
      "systemctl --user daemon-reload",
      "systemctl --user enable --now nestbox.service",
      "loginctl show-user alice --property=Linger",
    ]);
    expect(r.stdout).toContain(`wrote ${userUnit()}`);
    expect(r.stdout).toContain("sudo loginctl enable-linger alice");
  });

  it("warns about .env lines systemd would read differently (inline comments), naming only the variable", async () => {
    writeFileSync(
      path.join(project, ".env"),
      "MODEL=m # the small one\nOPENAI_BASE_URL=http://127.0.0.1:1/v1\n",
    );
    const r = await service(["install"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^warning: systemd reads MODEL from .*\.env differently than nestbox/m);
    expect(r.stderr).not.toContain("the small one");
  });

  it("no linger hint when lingering is already on", async () => {
    answers["loginctl show-user"] = { code: 0, stdout: "Linger=yes\n" };
    expect((await service(["install"])).stdout).not.toContain("enable-linger");
  });

  it("install --system needs root; as root it writes the system unit that runs as the sudo user", async () => {
    const refused = await service(["install", "--system"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/run it with sudo/);
    expect(calls).toEqual([]);
    const systemDir = path.join(home, "etc");
    const r = await service(["install", "--system"], { uid: 0, systemDir });
    expect(r.code).toBe(0);
    const unit = readFileSync(path.join(systemDir, "nestbox.service"), "utf8");
    expect(unit).toMatch(/^User=alice$/m);
    expect(unit).toMatch(/^WantedBy=multi-user.target$/m);
    expect(calls).toEqual(["systemctl daemon-reload", "systemctl enable --now nestbox.service"]);
  });

  it("install refuses a configuration that could not start (no model), writing nothing", async () => {
    writeFileSync(path.join(project, ".env"), "");
    const r = await service(["install"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no model is configured/);
    expect(existsSync(userUnit())).toBe(false);
    expect(calls).toEqual([]);
  });

  it("a failing systemctl is reported with its own first line and exit 1", async () => {
    answers["systemctl --user daemon-reload"] = {
      code: 1,
      stderr: "Failed to connect to bus: No medium found\n",
    };
    const r = await service(["install"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /reloading systemd failed: systemctl --user daemon-reload exited 1: Failed to connect to bus/,
    );
  });

  it("uninstall stops, disables and removes the unit; twice is fine", async () => {
    await service(["install"]);
    calls = [];
    const r = await service(["uninstall"]);
    expect(r.code).toBe(0);
    expect(existsSync(userUnit())).toBe(false);
    expect(calls).toEqual([
      "systemctl --user disable --now nestbox.service",
      "systemctl --user daemon-reload",
    ]);
    expect((await service(["uninstall"])).stdout).toMatch(/was not installed/);
  });

  it("status and logs hand systemctl and journalctl the terminal and pass their exit code on", async () => {
    answers["systemctl --user status"] = { code: 3 };
    expect((await service(["status"])).code).toBe(3);
    expect((await service(["logs", "-f", "--lines", "50"])).code).toBe(0);
    expect(calls).toEqual([
      "systemctl --user status nestbox.service --no-pager (terminal)",
      "journalctl --user -u nestbox.service --no-pager -f -n 50 (terminal)",
    ]);
    expect((await service(["logs", "--lines", "many"])).code).toBe(2);
    expect((await service(["restart"])).code).toBe(2);
    expect((await service([])).code).toBe(2);
  });
});

describe("nestbox service: the command line", () => {
  it("--help prints the usage and runs nothing; an unknown flag is refused with exit 2", async () => {
    const help = await service(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: nestbox service <install \| uninstall \| status \| logs>/);
    const bad = await service(["install", "--user"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(
      /unknown flag --user: "service" takes --system, --follow, --lines <value>, --help/,
    );
    expect(calls).toEqual([]);
    expect(existsSync(userUnit())).toBe(false);
  });
});

describe("nestbox service (launchd)", () => {
  it("install writes the LaunchAgent and bootstraps it; logs tail the host's log file", async () => {
    const mac = { platform: "darwin" as const, uid: 501 };
    const r = await service(["install"], mac);
    expect(r.code).toBe(0);
    const plist = path.join(home, "Library", "LaunchAgents", "local.nestbox.plist");
    expect(readFileSync(plist, "utf8")).toContain(`<string>${project}</string>`);
    expect(calls).toEqual([
      "launchctl bootout gui/501/local.nestbox",
      `launchctl bootstrap gui/501 ${plist}`,
    ]);
    calls = [];
    await service(["logs"], mac);
    expect(calls).toEqual([`tail -n 200 ${path.join(project, "data", "logs", "nestbox.log")} (terminal)`]);
    expect((await service(["install", "--system"], mac)).code).toBe(2);
  });
});

describe("launcherFrom", () => {
  it("keeps tsx's loader, drops the wrapper's preflight and debugger flags, makes paths absolute", () => {
    expect(
      launcherFrom(
        "/usr/bin/node",
        [
          "--require",
          "/p/node_modules/tsx/dist/preflight.cjs",
          "--import",
          "file:///p/node_modules/tsx/dist/loader.mjs",
          "--inspect=9229",
        ],
        "src/cli/nestbox.ts",
        "/p",
      ),
    ).toEqual([
      "/usr/bin/node",
      "--import",
      "file:///p/node_modules/tsx/dist/loader.mjs",
      "/p/src/cli/nestbox.ts",
    ]);
    expect(
      launcherFrom("/usr/bin/node", ["--import", "./node_modules/tsx/dist/loader.mjs"], "/p/x.ts", "/p"),
    ).toEqual(["/usr/bin/node", "--import", "/p/node_modules/tsx/dist/loader.mjs", "/p/x.ts"]);
  });
});
