/** A chat nestbox answers in, as registered with `setup register`. */
export interface RegisteredChat {
  chatId: string;
  channel: "telegram" | "whatsapp" | "terminal";
  name: string;
  /** Folder under `data/groups/`; {@link isValidFolder} holds for it. */
  folder: string;
  /** Trigger word at the start of a message, e.g. `@Andy`. */
  trigger: string;
  /** false: every message in this chat triggers the assistant. */
  requiresTrigger: boolean;
  /** The owner's private chat: no trigger needed, may manage other chats. */
  isMain: boolean;
  /** When set, only these sender ids may trigger the assistant. */
  allowedSenders: string[] | null;
  /** Per-chat container limits overriding the defaults. */
  limits: { memoryMb?: number; cpus?: number; pids?: number; diskMb?: number } | null;
  /** Extra host folders mounted under `/workspace/extra/<name>`. */
  extraMounts: { name: string; hostPath: string; readOnly: boolean }[];
  createdAt: number;
}

/** Folder names: safe as one path segment, never `..`, `/x` or `a/b`. */
export const FOLDER_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** Folders under `data/groups/` nestbox keeps for itself (`global` holds the memory every chat shares). */
export const RESERVED_FOLDERS: readonly string[] = ["global"];

/** The one folder rule: what `setup register` accepts and what `/chatid` may suggest. */
export function isValidFolder(folder: string): boolean {
  return FOLDER_PATTERN.test(folder) && !RESERVED_FOLDERS.includes(folder);
}

/**
 * A display name as it may appear in memory files and prompts: one line (control, line and bidi
 * characters become spaces), whitespace collapsed, at most `max` characters.
 */
export function sanitizeName(name: string, max = 100): string {
  const flat = name
    .replace(/[\p{Cc}\p{Cf}\u2028\u2029]/gu, " ")
    .replace(/\s+/g, " ")
    .trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
