import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type PipeContainer, PipeRuntime } from "../../test/doubles/pipe-runtime.js";
import { checkDataFolder } from "./data-check.js";

let root: string;
let dataDir: string;
beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), "nestbox-datacheck-"));
  chmodSync(root, 0o755);
  dataDir = path.join(root, "data");
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** A daemon that, like one not running as root, cannot cross a data folder without o+x. */
function strictDaemon(c: PipeContainer): void {
  const mounted = c.spec.mounts[0]?.hostPath ?? "/nowhere";
  if ((statSync(path.dirname(mounted)).mode & 0o001) === 0) {
    c.stderr.write("cat: /probe/.nestbox-probe: Permission denied\n");
    c.exit(1);
    return;
  }
  c.stdout.write(readFileSync(path.join(mounted, ".nestbox-probe")));
  c.exit(0);
}

const where = { ownContainerId: null, dockerHost: null };
const owner = { uid: 1000, gid: 1000 };

describe("doctor's data-folder check", () => {
  it("a missing data folder is a warning; --fix creates it and its folders and says so", async () => {
    const c = { docker: null, config: { dataDir, hostDataDir: null, agentImage: "img" }, sandbox: where };
    expect(await checkDataFolder(c, { fix: false, owner })).toMatchObject({ status: "warn" });
    expect(existsSync(dataDir)).toBe(false);
    const fixed = await checkDataFolder(c, { fix: true, owner });
    expect(fixed.fixed).toContain(`created ${dataDir}, ${path.join(dataDir, "groups")}`);
    for (const f of ["groups/global", "sessions", "skills"])
      expect(existsSync(path.join(dataDir, f))).toBe(true);
  });

  it("a permission denial is a FAIL with the chmod; --fix does that chmod and the probe then passes", async () => {
    mkdirSync(dataDir);
    chmodSync(dataDir, 0o700);
    const c = {
      docker: new PipeRuntime(strictDaemon),
      config: { dataDir, hostDataDir: null, agentImage: "img" },
      sandbox: where,
    };
    const before = await checkDataFolder(c, { fix: false, owner });
    expect(before.status).toBe("fail");
    expect(before.detail).toContain(`Fix: chmod o+x ${dataDir} (or`);
    const after = await checkDataFolder(c, { fix: true, owner });
    expect(after.status).toBe("ok");
    expect(after.fixed).toContain(`chmod 701 ${dataDir}`);
    expect(statSync(dataDir).mode & 0o777).toBe(0o701);
  });
});
