import { lstatSync, readdirSync, statfsSync } from "node:fs";
import path from "node:path";
import type { Logger } from "../log.js";
import type { RegisteredChat } from "../registration/chat.js";
import { writableDirs } from "./chat-folders.js";

/** Why a turn may not run (or was stopped) for lack of disk. */
export interface DiskRefusal {
  code: "CHAT_DISK_LIMIT" | "STORE_DISK_LOW";
  /** For the chat: what is wrong and what to do. */
  message: string;
}

/** Bytes a folder tree occupies on disk, as {@link folderUsage} measures it. */
export type UsageMeter = (dir: string) => number;

/** Free bytes and inodes on the filesystem holding `dir`. */
export type FreeSpaceMeter = (dir: string) => { bytes: number; inodes: number };

/** Options for {@link DiskGuard}. */
export interface DiskGuardOptions {
  dataDir: string;
  /** Default per-chat limit for the chat's writable folders (AGENT_DISK_MB); a chat's `limits.diskMb` wins. */
  chatLimitMb: number;
  /** Free space kept for the store (STORE_RESERVE_MB): below it no new turn starts. */
  reserveMb: number;
  log: Logger;
  /** How often a running turn's folders are measured. */
  watchIntervalMs?: number;
  usage?: UsageMeter;
  freeSpace?: FreeSpaceMeter;
  /** Status hook: the store-disk refusal began (a message) or ended (null). */
  onStoreLow?: (message: string | null) => void;
  now?: () => number;
}

const MB = 1024 * 1024;
/** Below this many free inodes the store could not grow either. */
const MIN_FREE_INODES = 10_000;

/**
 * Measures a folder tree without following symlinks: allocated blocks of every entry (sparse files
 * count what they really use), each inode once (hard links), directories included.
 */
export function folderUsage(dir: string): number {
  const seen = new Set<string>();
  let total = 0;
  const stack = [dir];
  while (stack.length > 0) {
    const current = stack.pop() as string;
    let st: ReturnType<typeof lstatSync>;
    try {
      st = lstatSync(current);
    } catch {
      continue; // removed while we walked
    }
    const key = `${st.dev}:${st.ino}`;
    if (seen.has(key)) continue;
    seen.add(key);
    total += st.blocks * 512;
    if (!st.isDirectory()) continue;
    try {
      for (const name of readdirSync(current)) stack.push(path.join(current, name));
    } catch {
      // unreadable folder: its size is unknown to us, the limit applies to the rest
    }
  }
  return total;
}

function statfsFree(dir: string): { bytes: number; inodes: number } {
  const s = statfsSync(dir);
  return { bytes: s.bavail * s.bsize, inodes: s.ffree };
}

function formatMb(bytes: number): string {
  return bytes >= 1024 * MB ? `${(bytes / (1024 * MB)).toFixed(1)} GB` : `${Math.round(bytes / MB)} MB`;
}

/**
 * Keeps agents from filling the disk: a chat over its folder limit, or a store disk below its
 * reserve, gets no new turn; a running turn that crosses either line is stopped.
 */
export class DiskGuard {
  readonly #o: Required<Omit<DiskGuardOptions, "onStoreLow">> & Pick<DiskGuardOptions, "onStoreLow">;
  #storeLow = false;
  /** A chat's last measurement, reused by the next turn's check while it is fresh and far from the limit. */
  readonly #measured = new Map<string, { at: number; bytes: number }>();

  constructor(options: DiskGuardOptions) {
    this.#o = { watchIntervalMs: 2000, usage: folderUsage, freeSpace: statfsFree, now: Date.now, ...options };
  }

  /** The chat's folder limit in bytes. */
  limitOf(chat: RegisteredChat): number {
    return (chat.limits?.diskMb ?? this.#o.chatLimitMb) * MB;
  }

  /** Bytes the chat's writable folders use. */
  usageOf(chat: RegisteredChat): number {
    return writableDirs(this.#o.dataDir, chat).reduce((n, d) => n + this.#o.usage(d), 0);
  }

  /** Why a turn for `chat` may not run now, or null. */
  refusal(chat: RegisteredChat): DiskRefusal | null {
    return this.#storeRefusal() ?? this.#chatRefusal(chat);
  }

  /** Checks `chat` every interval while a turn runs; calls `onBreach` once. Returns the stop function. */
  watch(chat: RegisteredChat, onBreach: (refusal: DiskRefusal) => void): () => void {
    const timer = setInterval(() => {
      const refusal = this.refusal(chat);
      if (!refusal) return;
      clearInterval(timer);
      this.#o.log.warn({ chatId: chat.chatId, code: refusal.code }, "stopping a turn: disk limit reached");
      onBreach(refusal);
    }, this.#o.watchIntervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  #chatRefusal(chat: RegisteredChat): DiskRefusal | null {
    const limit = this.limitOf(chat);
    const used = this.#usageForCheck(chat, limit);
    if (used <= limit) return null;
    return {
      code: "CHAT_DISK_LIMIT",
      message:
        `this chat's folder uses ${formatMb(used)}, over its ${formatMb(limit)} limit (AGENT_DISK_MB). ` +
        `Delete files from ${path.join(this.#o.dataDir, "groups", chat.folder)} to continue`,
    };
  }

  /**
   * Walking a chat's folders is the costliest step before a turn: a measurement younger than the
   * watch interval and under half the limit is reused (a chat writing fast enough to cross the
   * limit from there is stopped by the watch, as within a turn); near or over it, always measured.
   */
  #usageForCheck(chat: RegisteredChat, limit: number): number {
    const now = this.#o.now();
    const last = this.#measured.get(chat.chatId);
    if (last && now - last.at < this.#o.watchIntervalMs && last.bytes < limit / 2) return last.bytes;
    const bytes = this.usageOf(chat);
    this.#measured.set(chat.chatId, { at: now, bytes });
    return bytes;
  }

  #storeRefusal(): DiskRefusal | null {
    const free = this.#o.freeSpace(this.#o.dataDir);
    const reserve = this.#o.reserveMb * MB;
    const low = free.bytes < reserve || free.inodes < MIN_FREE_INODES;
    if (low !== this.#storeLow) {
      this.#storeLow = low;
      const message = low
        ? `the disk holding ${this.#o.dataDir} has ${formatMb(free.bytes)} and ${free.inodes} inodes free, ` +
          `below the ${formatMb(reserve)} kept for the store (STORE_RESERVE_MB): no new turns until space is freed`
        : null;
      if (message) this.#o.log.error({ freeBytes: free.bytes, freeInodes: free.inodes }, message);
      else this.#o.log.info("disk space is back above the store reserve; turns run again");
      this.#o.onStoreLow?.(message);
    }
    if (!low) return null;
    return {
      code: "STORE_DISK_LOW",
      message:
        "the server is almost out of disk space, so no new work can start (the owner sees why in nestbox status)",
    };
  }
}
