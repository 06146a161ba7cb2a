import { existsSync } from "node:fs";
import path from "node:path";
import type { CommandIO } from "../cli/io.js";
import type { RegisteredChat } from "../registration/chat.js";
import { Store } from "../store/index.js";

/** Every registered chat (none when the database does not exist yet). */
export function listChats(dataDir: string): RegisteredChat[] {
  if (!existsSync(path.join(dataDir, "nestbox.db"))) return [];
  const store = Store.open(dataDir);
  try {
    return store.chats.list();
  } finally {
    store.close();
  }
}

/** The installation's id (made on first use), which names its containers, services and volumes. */
export function installIdOf(dataDir: string): string {
  const store = Store.open(dataDir);
  try {
    return store.meta.installId();
  } finally {
    store.close();
  }
}

/** Prints the registered chats as a table, or a JSON array with `json`. */
export function printChats(io: CommandIO, chats: RegisteredChat[], json: boolean): void {
  if (json) {
    io.stdout.write(`${JSON.stringify(chats)}\n`);
    return;
  }
  if (chats.length === 0) {
    io.stdout.write('No chats registered yet. Register one with "npm run setup -- register --help".\n');
    return;
  }
  const rows = chats.map((c) => [
    c.chatId,
    c.name,
    c.folder,
    c.requiresTrigger && !c.isMain ? c.trigger : "(every message)",
    c.isMain ? "main" : "",
  ]);
  const header = ["CHAT ID", "NAME", "FOLDER", "TRIGGER", ""];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (r: string[]) =>
    `${r
      .map((v, i) => v.padEnd(widths[i] as number))
      .join("  ")
      .trimEnd()}\n`;
  io.stdout.write(line(header));
  for (const r of rows) io.stdout.write(line(r));
}
