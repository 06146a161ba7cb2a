import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { RegisteredChat } from "./chats.js";
import { UsageError } from "./errors.js";
import { Store } from "./store/index.js";

/** A chat to register and the assistant's name for its memory file. */
export interface RegisterRequest {
  chat: RegisteredChat;
  assistantName: string;
}

/** The memory file a new chat's folder starts with. */
export function initialMemory(assistantName: string, chatName: string): string {
  return `# ${assistantName}\n\nYou are ${assistantName}, the assistant of the chat "${chatName}".\nKeep what you learn about this chat here, short and current.\n`;
}

/**
 * Registers a chat: checks it against the store (unique chat id and folder, one main chat),
 * creates `data/groups/<folder>/AGENTS.md`, then writes the row. Writes nothing on error.
 */
export function registerChat(dataDir: string, request: RegisterRequest): RegisteredChat {
  const { chat } = request;
  const dbFile = path.join(dataDir, "nestbox.db");
  const folderDir = path.join(dataDir, "groups", chat.folder);
  const store = existsSync(dbFile) ? Store.open(dataDir) : null;
  try {
    if (store?.chats.get(chat.chatId)) {
      throw new UsageError(
        `--jid ${chat.chatId} is already registered: run "npm run setup -- chats" to see it`,
      );
    }
    const owner = store?.chats.byFolder(chat.folder);
    if (owner)
      throw new UsageError(
        `--folder "${chat.folder}" is already used by ${owner.chatId}: pick another folder`,
      );
    const main = store?.chats.main();
    if (chat.isMain && main) {
      throw new UsageError(`--is-main: ${main.chatId} is already the main chat; there can be only one`);
    }
    if (existsSync(folderDir)) {
      throw new UsageError(
        `--folder "${chat.folder}": data/groups/${chat.folder} already exists; pick another folder`,
      );
    }
  } finally {
    store?.close();
  }
  mkdirSync(folderDir, { recursive: true });
  try {
    writeFileSync(path.join(folderDir, "AGENTS.md"), initialMemory(request.assistantName, chat.name), {
      flag: "wx",
    });
    const globalDir = path.join(dataDir, "groups", "global");
    mkdirSync(globalDir, { recursive: true });
    const globalMemory = path.join(globalDir, "AGENTS.md");
    if (!existsSync(globalMemory))
      writeFileSync(globalMemory, "# Shared memory\n\nFacts every chat's agent may use.\n");
    const db = Store.open(dataDir);
    try {
      db.chats.insert(chat);
    } finally {
      db.close();
    }
  } catch (err) {
    rmSync(folderDir, { recursive: true, force: true });
    throw err;
  }
  return chat;
}
