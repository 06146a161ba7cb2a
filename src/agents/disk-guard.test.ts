import { linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { makeChat } from "../../test/doubles/chat.js";
import { silentLogger } from "../log.js";
import { DiskGuard, type DiskGuardOptions, folderUsage } from "./disk-guard.js";

const MB = 1024 * 1024;
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(path.join(tmpdir(), "nestbox-disk-"));
  dirs.push(d);
  return d;
}
const plenty = () => ({ bytes: 100 * 1024 * MB, inodes: 1_000_000 });

describe("folderUsage", () => {
  it("counts allocated blocks, hard links once, and never follows symlinks", () => {
    const d = tmp();
    writeFileSync(path.join(d, "a.bin"), Buffer.alloc(2 * MB, 1));
    linkSync(path.join(d, "a.bin"), path.join(d, "a-link.bin"));
    symlinkSync("/", path.join(d, "root"));
    symlinkSync(d, path.join(d, "loop"));
    const sparse = path.join(d, "sparse.bin");
    writeFileSync(sparse, "");
    truncateSync(sparse, 50 * 1024 * MB);
    const used = folderUsage(d);
    expect(used).toBeGreaterThanOrEqual(2 * MB);
    expect(used).toBeLessThan(3 * MB);
  });

  it("is 0 for a folder that does not exist", () => {
    expect(folderUsage(path.join(tmp(), "missing"))).toBe(0);
  });
});

/** A guard on `dataDir` with no per-install limit in the way, no reserve and plenty of free space. */
const guardOn = (dataDir: string, over: Partial<DiskGuardOptions> = {}) =>
  new DiskGuard({
    dataDir,
    chatLimitMb: 2048,
    reserveMb: 0,
    log: silentLogger(),
    freeSpace: plenty,
    ...over,
  });

describe("DiskGuard", () => {
  it("refuses a chat over its folder limit, counting its sessions too, and lets it run once it shrinks", () => {
    const dataDir = tmp();
    const chat = makeChat({ folder: "fam", limits: { diskMb: 1 } });
    mkdirSync(path.join(dataDir, "groups", "fam"), { recursive: true });
    mkdirSync(path.join(dataDir, "sessions", "fam"), { recursive: true });
    const guard = guardOn(dataDir);
    writeFileSync(path.join(dataDir, "groups", "fam", "half.bin"), Buffer.alloc(MB / 2, 1));
    expect(guard.refusal(chat)).toBeNull();
    writeFileSync(path.join(dataDir, "sessions", "fam", "half.bin"), Buffer.alloc(MB, 1));
    const refusal = guard.refusal(chat);
    expect(refusal?.code).toBe("CHAT_DISK_LIMIT");
    expect(refusal?.message).toContain(
      `over its 1 MB limit (AGENT_DISK_MB). Delete files from ${path.join(dataDir, "groups", "fam")} to continue`,
    );
    rmSync(path.join(dataDir, "sessions", "fam", "half.bin"));
    expect(guard.refusal(chat)).toBeNull();
  });

  it("reuses a fresh measurement far below the limit, and measures again near it or once it is old", () => {
    const dataDir = tmp();
    const chat = makeChat({ folder: "fam", limits: { diskMb: 10 } });
    let now = 0;
    let walks = 0;
    let bytes = MB;
    const guard = guardOn(dataDir, {
      watchIntervalMs: 2000,
      now: () => now,
      usage: () => {
        walks++;
        return bytes / 2;
      },
    });
    // The chat's two writable folders are measured once per walk of the chat.
    expect(guard.refusal(chat)).toBeNull();
    expect(walks).toBe(2);
    now = 1999;
    expect(guard.refusal(chat)).toBeNull();
    expect(walks).toBe(2);
    now = 2000;
    bytes = 6 * MB;
    expect(guard.refusal(chat)).toBeNull();
    expect(walks).toBe(4);
    // Over half the limit: every check measures, so a chat that crosses it is refused at once.
    bytes = 11 * MB;
    now = 2001;
    expect(guard.refusal(chat)?.code).toBe("CHAT_DISK_LIMIT");
    expect(walks).toBe(6);
  });

  it("refuses every turn below the store reserve, logs it once and reports the change", () => {
    const dataDir = tmp();
    let free = { bytes: 100 * MB, inodes: 1_000_000 };
    const changes: (string | null)[] = [];
    const guard = guardOn(dataDir, {
      reserveMb: 512,
      freeSpace: () => free,
      onStoreLow: (m) => changes.push(m),
    });
    const chat = makeChat();
    expect(guard.refusal(chat)?.code).toBe("STORE_DISK_LOW");
    expect(guard.refusal(chat)?.message).not.toMatch(/\//);
    free = { bytes: 1024 * MB, inodes: 5 };
    expect(guard.refusal(chat)?.code).toBe("STORE_DISK_LOW");
    free = { bytes: 1024 * MB, inodes: 1_000_000 };
    expect(guard.refusal(chat)).toBeNull();
    expect(changes).toHaveLength(2);
    expect(changes[0]).toMatch(/below the 512 MB kept for the store \(STORE_RESERVE_MB\)/);
    expect(changes[1]).toBeNull();
  });

  it("tells a running turn once when its folder crosses the limit", async () => {
    const dataDir = tmp();
    const chat = makeChat({ folder: "fam", limits: { diskMb: 1 } });
    mkdirSync(path.join(dataDir, "groups", "fam"), { recursive: true });
    const guard = guardOn(dataDir, { watchIntervalMs: 10 });
    const breaches: string[] = [];
    const stop = guard.watch(chat, (r) => breaches.push(r.code));
    await new Promise((r) => setTimeout(r, 40));
    expect(breaches).toEqual([]);
    writeFileSync(path.join(dataDir, "groups", "fam", "big.bin"), Buffer.alloc(2 * MB, 1));
    await new Promise((r) => setTimeout(r, 60));
    stop();
    expect(breaches).toEqual(["CHAT_DISK_LIMIT"]);
  });
});
