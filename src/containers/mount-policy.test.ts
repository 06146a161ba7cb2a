import { chmodSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadMountAllowlist } from "./mount-allowlist.js";
import { checkExtraMounts, type MountPolicy, MountRefusedError } from "./mount-policy.js";

let base: string;
let policy: MountPolicy;
const servers: Server[] = [];
const p = (...parts: string[]) => path.join(base, ...parts);

function listen(socketPath: string): Promise<void> {
  const server = createServer();
  servers.push(server);
  return new Promise((resolve) => server.listen(socketPath, resolve));
}

/** Writes the allowlist file of `policy` with these roots. */
function allow(roots: { path: string; readWrite?: boolean }[]): void {
  writeFileSync(policy.allowlistFile, JSON.stringify({ roots }), { mode: 0o600 });
  chmodSync(policy.allowlistFile, 0o600);
}

function refusal(fn: () => unknown): MountRefusedError {
  try {
    fn();
  } catch (err) {
    if (err instanceof MountRefusedError) return err;
    throw err;
  }
  throw new Error("expected the mount to be refused");
}

const check = (hostPath: string, readOnly = true) =>
  checkExtraMounts([{ name: "x", hostPath, readOnly }], policy);
const refused = (hostPath: string, readOnly = true) => refusal(() => check(hostPath, readOnly)).message;

beforeAll(async () => {
  base = realpathSync(mkdtempSync(path.join(tmpdir(), "nestbox-mounts-")));
  for (const d of [
    "home/.ssh",
    "data/groups/family",
    "data/auth/whatsapp",
    "config/nestbox",
    "allowed/notes",
  ])
    mkdirSync(p(d), { recursive: true });
  for (const d of ["rw/work", "rw/frozen/inner", "sock", "othersock", "project", "elsewhere"])
    mkdirSync(p(d), { recursive: true });
  writeFileSync(p("project/.env"), "ANTHROPIC_API_KEY=sk-ant-x\n");
  writeFileSync(p("allowed/file.txt"), "not a folder");
  await listen(p("sock/docker.sock"));
  await listen(p("othersock/agent.sock"));
  mkdirSync(p("deepsock/a/b"), { recursive: true });
  await listen(p("deepsock/a/b/ssh-agent.sock"));
  policy = {
    allowlistFile: p("config/nestbox/mount-allowlist.json"),
    dataDir: p("data"),
    hostDataDir: null,
    homes: [p("home")],
    dockerSockets: [p("sock/docker.sock"), "/var/run/docker.sock", "/run/docker.sock"],
    protectedFiles: [p("project/.env")],
  };
});
afterAll(() => {
  for (const s of servers) s.close();
  rmSync(base, { recursive: true, force: true });
});

describe("extra mounts under a narrow allowlist", () => {
  beforeAll(() =>
    allow([
      { path: p("allowed") },
      { path: p("rw"), readWrite: true },
      { path: p("rw/frozen"), readWrite: false },
    ]),
  );

  it("accepts a folder under a root and stores its real path, also through a symlink", () => {
    symlinkSync(p("allowed/notes"), p("elsewhere/notes-link"));
    expect(check(p("allowed/notes"))).toEqual([{ name: "x", hostPath: p("allowed/notes"), readOnly: true }]);
    expect(check(p("elsewhere/notes-link"))[0]?.hostPath).toBe(p("allowed/notes"));
    expect(check(p("rw/work"), false)[0]).toMatchObject({ hostPath: p("rw/work"), readOnly: false });
  });

  it("refuses a folder outside every root, naming the allowlist and a root to add", () => {
    expect(refused(p("elsewhere"))).toMatch(
      new RegExp(`${p("elsewhere")} is not under any root in the mount allowlist ${policy.allowlistFile}`),
    );
    expect(refused(p("elsewhere"))).toContain(`"path": "${p("elsewhere")}"`);
  });

  it("refuses :rw under a read-only root; the most specific root decides", () => {
    expect(refused(p("allowed/notes"), false)).toMatch(
      /may only be mounted read-only: .*fix: mount it with :ro/,
    );
    expect(refused(p("rw/frozen/inner"), false)).toMatch(/may only be mounted read-only/);
    expect(check(p("rw/frozen/inner"))[0]?.readOnly).toBe(true);
  });

  it("re-checks the real path: a folder replaced by a symlink to data/ is refused the next time", () => {
    mkdirSync(p("allowed/later"));
    expect(check(p("allowed/later"))).toHaveLength(1);
    rmSync(p("allowed/later"), { recursive: true });
    symlinkSync(p("data"), p("allowed/later"));
    expect(refused(p("allowed/later"))).toMatch(/\(real path .*\/data\) is nestbox's data folder/);
  });

  it("refuses a missing path, a file, a bad name", () => {
    expect(refused(p("allowed/nope"))).toMatch(/does not exist/);
    expect(refused(p("allowed/file.txt"))).toMatch(/is not a folder/);
    const bad = refusal(() =>
      checkExtraMounts([{ name: "../x", hostPath: p("allowed"), readOnly: true }], policy),
    );
    expect(bad.message).toMatch(/the mount name "\.\.\/x" is not allowed/);
  });
});

describe("always refused, even with / allowlisted read-write", () => {
  beforeAll(() => allow([{ path: "/", readWrite: true }]));

  it("a symlink to /var/run (the Docker socket's folder) and anything in /run", () => {
    symlinkSync("/var/run", p("elsewhere/lnk"));
    expect(refused(p("elsewhere/lnk"))).toMatch(
      /\(real path \/run\) (holds the Docker socket|is the system folder)/,
    );
    expect(refused("/var/run")).toMatch(/holds the Docker socket|system folder/);
  });

  it("the folder of the DOCKER_HOST socket, a folder above it, a symlink to it, any socket", () => {
    expect(refused(p("sock"))).toMatch(/holds the Docker socket .*sock\/docker\.sock/);
    symlinkSync(p("sock"), p("elsewhere/sock-link"));
    expect(refused(p("elsewhere/sock-link"))).toMatch(/holds the Docker socket/);
    expect(refused(p("othersock"))).toMatch(/holds a socket \(agent\.sock\)/);
    expect(refused(p("othersock/agent.sock"))).toMatch(/is a socket/);
    expect(refused(p("deepsock"))).toMatch(/holds a socket \(a\/b\/ssh-agent\.sock\)/);
    expect(refused(base)).toMatch(/holds the Docker socket/);
  });

  it("the data folder, anything inside it (data/groups rw, data/auth), anything holding it, symlinks to it", () => {
    symlinkSync(p("data"), p("elsewhere/data-link"));
    for (const [target, rw] of [
      [p("data"), false],
      [p("data/groups"), true],
      [p("data/groups/family"), true],
      [p("data/auth"), false],
      [p("elsewhere/data-link"), false],
    ] as const) {
      expect(refused(target, !rw)).toMatch(/(is|lies inside|holds) nestbox's data folder/);
    }
  });

  it("system folders: /etc:rw, /etc/ssl, /root, /proc, /", () => {
    expect(refused("/etc", false)).toMatch(/is the system folder \/etc/);
    expect(refused("/etc/ssl")).toMatch(/lies inside the system folder \/etc/);
    expect(refused("/root")).toMatch(/system folder \/root/);
    expect(refused("/proc")).toMatch(/system folder \/proc/);
    expect(refused("/")).toMatch(/root of the file system|holds the Docker socket/);
  });

  it("credential folders of HOME: ~/.ssh, inside it, HOME itself, a symlink to it, a missing ~/.aws", () => {
    mkdirSync(p("home/.ssh/keys"));
    symlinkSync(p("home/.ssh"), p("elsewhere/ssh-link"));
    for (const target of [p("home/.ssh"), p("home/.ssh/keys"), p("home"), p("elsewhere/ssh-link")]) {
      expect(refused(target)).toMatch(/(is|lies inside|holds) the credential folder .*home\/\.ssh/);
    }
    policy.homes.push(p("home2"));
    mkdirSync(p("home2"));
    try {
      expect(refused(p("home2"))).toMatch(/holds the credential folder .*home2\/\.ssh/);
    } finally {
      policy.homes.pop();
    }
  });

  it("the allowlist's own folder and any folder holding the .env with the model key", () => {
    expect(refused(p("config"), false)).toMatch(/the folder of the mount allowlist/);
    expect(refused(p("config/nestbox"))).toMatch(/the folder of the mount allowlist/);
    expect(refused(p("project"))).toMatch(/holds .*project\/\.env, which holds secrets/);
  });
});

describe("the allowlist file", () => {
  it("no mounts: no file needed", () => {
    rmSync(policy.allowlistFile, { force: true });
    expect(checkExtraMounts([], policy)).toEqual([]);
  });

  it("missing: says which file to create with what content", () => {
    rmSync(policy.allowlistFile, { force: true });
    const err = refusal(() => check(p("allowed/notes")));
    expect(err.message).toContain(`the mount allowlist ${policy.allowlistFile} does not exist`);
    expect(err.message).toContain(`create ${policy.allowlistFile}`);
    expect(err.message).toContain('{ "roots": [ { "path": "/home/me/notes", "readWrite": false } ] }');
    expect(err.mount).toBe("x");
  });

  it("invalid JSON or format: names the file and the problem", () => {
    writeFileSync(policy.allowlistFile, "{ roots: [");
    expect(refused(p("allowed/notes"))).toMatch(/mount-allowlist\.json is not valid JSON: /);
    writeFileSync(policy.allowlistFile, JSON.stringify({ roots: [{ path: "notes", readWrite: "yes" }] }));
    expect(refused(p("allowed/notes"))).toMatch(
      /wrong format: roots\.0\.path: must be an absolute path; roots\.0\.readWrite: /,
    );
    writeFileSync(policy.allowlistFile, JSON.stringify({ root: [] }));
    expect(refused(p("allowed/notes"))).toMatch(/wrong format: /);
  });

  it("world-writable, in a world-writable folder, or someone else's: refused", () => {
    allow([{ path: p("allowed") }]);
    chmodSync(policy.allowlistFile, 0o666);
    expect(refused(p("allowed/notes"))).toMatch(/is writable by every user \(fix: run: chmod o-w /);
    chmodSync(policy.allowlistFile, 0o600);
    chmodSync(path.dirname(policy.allowlistFile), 0o777);
    try {
      expect(refused(p("allowed/notes"))).toMatch(
        /folder of the mount allowlist .* is writable by every user/,
      );
    } finally {
      chmodSync(path.dirname(policy.allowlistFile), 0o700);
    }
    expect(check(p("allowed/notes"))).toHaveLength(1);
    const other = refusal(() => loadMountAllowlist(policy.allowlistFile, policy.dataDir, [4242]));
    expect(other.message).toMatch(/belongs to user \d+, not to nestbox's user/);
  });

  it("inside the data folder, or a symlink into it: refused", () => {
    writeFileSync(p("data/allow.json"), JSON.stringify({ roots: [{ path: "/" }] }), { mode: 0o600 });
    const inData = { ...policy, allowlistFile: p("data/allow.json") };
    expect(
      refusal(() => checkExtraMounts([{ name: "x", hostPath: p("allowed"), readOnly: true }], inData))
        .message,
    ).toMatch(/lies inside nestbox's data folder/);
    symlinkSync(p("data/allow.json"), p("config/nestbox/linked.json"));
    const linked = { ...policy, allowlistFile: p("config/nestbox/linked.json") };
    expect(
      refusal(() => checkExtraMounts([{ name: "x", hostPath: p("allowed"), readOnly: true }], linked))
        .message,
    ).toMatch(/lies inside nestbox's data folder/);
  });
});
