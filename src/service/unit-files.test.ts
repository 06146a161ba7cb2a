import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { launchdPlist, type ServiceSpec, systemdArg, systemdUnit } from "./unit-files.js";

const spec: ServiceSpec = {
  workingDir: "/home/al ice/my bots/nestbox",
  command: [
    "/usr/bin/node",
    "--import",
    "file:///home/al%20ice/loader.mjs",
    "/home/al ice/my bots/nestbox/src/cli/nestbox.ts",
  ],
  envFile: "/home/al ice/my bots/nestbox/.env",
  user: "alice",
  stdioLog: "/home/al ice/my bots/nestbox/data/logs/launchd.log",
};

const line = (text: string, key: string) => text.split("\n").find((l) => l.startsWith(`${key}=`));

describe("systemd unit", () => {
  it("runs start --no-terminal with the same node and entry, in the project folder, restarting on failure", () => {
    const unit = systemdUnit(spec, false);
    expect(line(unit, "ExecStart")).toBe(
      'ExecStart=/usr/bin/node --import file:///home/al%%20ice/loader.mjs "/home/al ice/my bots/nestbox/src/cli/nestbox.ts" start --no-terminal',
    );
    expect(line(unit, "WorkingDirectory")).toBe("WorkingDirectory=/home/al ice/my bots/nestbox");
    expect(line(unit, "EnvironmentFile")).toBe("EnvironmentFile=-/home/al ice/my bots/nestbox/.env");
    expect(line(unit, "Restart")).toBe("Restart=on-failure");
    expect(line(unit, "StandardInput")).toBe("StandardInput=null");
    expect(line(unit, "WantedBy")).toBe("WantedBy=default.target");
    expect(line(unit, "User")).toBeUndefined();
  });

  it("a system unit runs as the user and starts at boot", () => {
    const unit = systemdUnit(spec, true);
    expect(line(unit, "User")).toBe("User=alice");
    expect(line(unit, "WantedBy")).toBe("WantedBy=multi-user.target");
  });

  it("escapes what systemd would otherwise expand or split: quotes, backslashes, %, $", () => {
    expect(systemdArg("/plain/path")).toBe("/plain/path");
    expect(systemdArg("/a b/c")).toBe('"/a b/c"');
    expect(systemdArg('/a"b\\c')).toBe('"/a\\"b\\\\c"');
    expect(systemdArg("/100%/$HOME")).toBe("/100%%/$$HOME");
    expect(systemdArg("")).toBe('""');
    expect(() => systemdUnit({ ...spec, workingDir: "/a\nExecStartPre=/bin/evil" }, false)).toThrow(
      /line break/,
    );
  });

  describe("systemd-analyze verify", () => {
    const analyze = spawnSync("systemd-analyze", ["--version"]).status === 0;
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(path.join(tmpdir(), "nestbox unit "));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it.skipIf(!analyze)(
      `accepts the unit for a project and a node whose paths hold spaces${analyze ? "" : " (SKIPPED: systemd-analyze is not installed)"}`,
      () => {
        // node reached through a folder with a space: verify checks ExecStart's program exists, so a
        // path split at the space would fail here.
        const nodeDir = path.join(dir, "my node");
        mkdirSync(nodeDir);
        symlinkSync(process.execPath, path.join(nodeDir, "node"));
        const project = path.join(dir, "my project 100%");
        mkdirSync(project);
        writeFileSync(path.join(project, ".env"), "MODEL=m\n");
        const units = [false, true].map((system) =>
          systemdUnit(
            {
              workingDir: project,
              command: [path.join(nodeDir, "node"), path.join(project, "src/cli/nestbox.ts")],
              envFile: path.join(project, ".env"),
              user: userInfo().username,
            },
            system,
          ),
        );
        const file = path.join(dir, "nestbox.service");
        for (const unit of units) {
          writeFileSync(file, unit);
          const r = spawnSync("systemd-analyze", ["verify", file], { encoding: "utf8" });
          expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
        }
        const unit = units[1] as string;
        // The same check catches a broken unit, so the pass above means something.
        writeFileSync(
          file,
          unit
            .replace(/^ExecStart=.*$/m, `ExecStart=${path.join(nodeDir, "node")} x`)
            .replace("Restart=on-failure", "Restart=bogus"),
        );
        expect(spawnSync("systemd-analyze", ["verify", file], { encoding: "utf8" }).stderr).toMatch(
          /restart/i,
        );
      },
    );
  });
});

describe("launchd plist", () => {
  it("runs the same command at login, restarted only after a failed exit, with XML escaped", () => {
    const plist = launchdPlist({ ...spec, workingDir: "/Users/a & b/<nestbox>" });
    expect(plist).toContain("<string>/Users/a &amp; b/&lt;nestbox&gt;</string>");
    const args = [...plist.matchAll(/^ {4}<string>(.*)<\/string>$/gm)].map((m) => m[1]);
    expect(args).toEqual([...spec.command, "start", "--no-terminal"]);
    expect(plist).toMatch(/<key>KeepAlive<\/key>\s*<dict>\s*<key>SuccessfulExit<\/key>\s*<false\/>/);
    expect(plist).toMatch(/<key>RunAtLoad<\/key>\s*<true\/>/);
    expect(plist).toContain("<string>/home/al ice/my bots/nestbox/data/logs/launchd.log</string>");
  });
});
