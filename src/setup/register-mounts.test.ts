import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { captureIO } from "../../test/doubles/command-io.js";
import { runSetup } from "./cli.js";

let cwd: string;
let outside: string;
const at = (...parts: string[]) => path.join(cwd, ...parts);
const allowlistFile = () => at("home/.config/nestbox/mount-allowlist.json");

beforeEach(() => {
  cwd = realpathSync(mkdtempSync(path.join(tmpdir(), "nestbox-setup-")));
  outside = realpathSync(mkdtempSync(path.join(tmpdir(), "nestbox-outside-")));
  for (const d of ["notes", "shared", "home/.ssh", "home/.config/nestbox"])
    mkdirSync(at(d), { recursive: true });
  allow([{ path: at("notes") }, { path: at("shared"), readWrite: true }, { path: "/", readWrite: false }]);
});
afterEach(() => {
  rmSync(cwd, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

function allow(roots: { path: string; readWrite?: boolean }[]): void {
  writeFileSync(allowlistFile(), JSON.stringify({ roots }));
  chmodSync(allowlistFile(), 0o600);
}

async function setup(...argv: string[]) {
  const { io, out } = captureIO({ ASSISTANT_NAME: "Andy", HOME: at("home") }, cwd);
  const code = await runSetup(argv, io);
  return { code, ...out() };
}

const dataFiles = () => (existsSync(at("data")) ? readdirSync(at("data"), { recursive: true }).sort() : []);
const good = ["--channel", "telegram", "--jid", "tg:-1001234", "--name", "Family", "--folder", "family"];

/** Registers with these mounts and expects a one-line refusal and no change in data/. */
async function expectRefused(mounts: string[], message: RegExp) {
  const before = dataFiles();
  const r = await setup("register", ...good, ...mounts.flatMap((m) => ["--mount", m]));
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/^error: --mount ".*" is refused: /);
  expect(r.stderr).toMatch(message);
  expect(r.stderr.trim().split("\n")).toHaveLength(1);
  expect(dataFiles()).toEqual(before);
  return r.stderr;
}

describe("setup register --mount", () => {
  it("stores allowed mounts with their real paths", async () => {
    symlinkSync(at("notes"), path.join(outside, "notes-link"));
    const r = await setup(
      "register",
      ...good,
      "--mount",
      `notes=${path.join(outside, "notes-link")}`,
      "--mount",
      `work=${at("shared")}:rw`,
      "--json",
    );
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(JSON.parse(r.stdout).chat.extraMounts).toEqual([
      { name: "notes", hostPath: at("notes"), readOnly: true },
      { name: "work", hostPath: at("shared"), readOnly: false },
    ]);
  });

  it("refuses bad syntax and names, writing nothing", async () => {
    for (const [spec, message] of [
      ["notes=relative/path", /--mount "notes=relative\/path" is not valid/],
      ["Bad Name=/tmp", /the name "Bad Name" is not valid: use 1-32 lowercase/],
      [`${"a".repeat(33)}=/tmp`, /is not valid: use 1-32/],
    ] as const) {
      const r = await setup("register", ...good, "--mount", spec);
      expect(r.stderr).toMatch(message);
      expect(dataFiles()).toEqual([]);
    }
    const twice = await setup(
      "register",
      ...good,
      "--mount",
      `a=${at("notes")}`,
      "--mount",
      `a=${at("shared")}`,
    );
    expect(twice.stderr).toMatch(/the name "a" is used twice/);
  });

  it("refuses the Docker socket's folder, also through a symlink, and system folders", async () => {
    symlinkSync("/var/run", path.join(outside, "lnk"));
    await expectRefused(
      [`r=${path.join(outside, "lnk")}`],
      /real path \/run\) (holds the Docker socket|is the system)/,
    );
    await expectRefused(["sock=/var/run"], /holds the Docker socket|system folder/);
    await expectRefused(["etc=/etc:rw"], /is the system folder \/etc/);
    await expectRefused(["root=/root"], /is the system folder \/root/);
    await expectRefused(["all=/"], /root of the file system|holds the Docker socket/);
  });

  it("refuses the data folder: data/groups rw, data/auth, a symlink to data/, a folder holding it", async () => {
    expect((await setup("register", ...good)).code).toBe(0);
    mkdirSync(at("data/auth/whatsapp"), { recursive: true });
    symlinkSync(at("data"), at("notes/data-link"));
    const spec = ["--channel", "telegram", "--jid", "tg:-1009", "--name", "X", "--folder", "x"];
    const before = dataFiles();
    for (const m of [
      `groups=${at("data/groups")}:rw`,
      `auth=${at("data/auth")}`,
      `link=${at("notes/data-link")}`,
      `up=${cwd}`,
    ]) {
      const r = await setup("register", ...spec, "--mount", m);
      expect(r.stderr).toMatch(/(is|lies inside|holds) nestbox's data folder/);
    }
    expect(dataFiles()).toEqual(before);
  });

  it("refuses ~/.ssh of HOME, HOME itself, and the allowlist's own folder", async () => {
    await expectRefused([`ssh=${at("home/.ssh")}`], /is the credential folder .*home\/\.ssh/);
    await expectRefused([`home=${at("home")}`], /holds the credential folder/);
    await expectRefused([`cfg=${at("home/.config/nestbox")}:rw`], /the folder of the mount allowlist/);
  });

  it("refuses a folder outside every root and :rw under a read-only root", async () => {
    allow([{ path: at("notes") }]);
    const msg = await expectRefused([`o=${outside}`], /is not under any root in the mount allowlist/);
    expect(msg).toContain(allowlistFile());
    await expectRefused([`n=${at("notes")}:rw`], /may only be mounted read-only.*fix: mount it with :ro/);
  });

  it("refuses every mount without a valid allowlist, saying which file to create with what", async () => {
    rmSync(allowlistFile());
    const msg = await expectRefused([`n=${at("notes")}`], /does not exist \(fix: create /);
    expect(msg).toContain(allowlistFile());
    expect(msg).toContain('"roots": [ { "path": "/home/me/notes", "readWrite": false } ]');
    writeFileSync(allowlistFile(), "not json");
    await expectRefused([`n=${at("notes")}`], /mount-allowlist\.json is not valid JSON/);
    allow([{ path: at("notes") }]);
    chmodSync(allowlistFile(), 0o666);
    await expectRefused([`n=${at("notes")}`], /is writable by every user/);
    expect((await setup("register", ...good)).code).toBe(0);
  });

  it("refuses NESTBOX_MOUNT_ALLOWLIST inside the data folder", async () => {
    let stderr = "";
    const code = await runSetup(["register", ...good], {
      stdout: { write: () => true },
      stderr: { write: (t: string) => (stderr += t) },
      env: { HOME: at("home"), NESTBOX_MOUNT_ALLOWLIST: at("data/allow.json") },
      cwd,
    });
    expect(code).toBe(1);
    expect(stderr).toMatch(/NESTBOX_MOUNT_ALLOWLIST: .* lies inside the data folder/);
    expect(dataFiles()).toEqual([]);
  });
});
