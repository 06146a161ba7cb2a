import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { agentOwner } from "../agents/agent-user.js";
import { giveToAgent } from "../agents/chat-folders.js";
import { chatDirs } from "../containers/agent-spec.js";
import { UsageError } from "../errors.js";
import { Store } from "../store/index.js";
import { type RegisteredChat, sanitizeName } from "./chat.js";
import { chatProblems } from "./chat-schema.js";

/** A chat to register and the assistant's name for its memory file. */
export interface RegisterRequest {
  chat: RegisteredChat;
  assistantName: string;
}

/** The memory file a new chat's folder starts with; the chat's name is one quoted line. */
export function initialMemory(assistantName: string, chatName: string): string {
  const quoted = JSON.stringify(sanitizeName(chatName));
  return `# ${assistantName}\n\nYou are ${assistantName}, the assistant of the chat ${quoted}.\nKeep what you learn about this chat here, short and current.\n`;
}

/**
 * Registers a chat: checks it against the store (unique chat id and folder, one main chat),
 * creates `data/groups/<folder>/AGENTS.md`, then writes the row. Writes nothing on error.
 */
export function registerChat(dataDir: string, request: RegisterRequest): RegisteredChat {
  const chat = { ...request.chat, name: sanitizeName(request.chat.name) };
  const problems = chatProblems(chat);
  if (problems.length > 0) {
    throw new UsageError(
      `cannot register ${chat.chatId}: ${problems.map((p) => `${p.field} ${p.message}`).join("; ")}`,
    );
  }
  const dbFile = path.join(dataDir, "nestbox.db");
  const dirs = chatDirs(dataDir, chat.folder);
  const folderDir = dirs.group;
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
      throw new UsageError(`--folder "${chat.folder}": ${folderDir} already exists; pick another folder`);
    }
  } finally {
    store?.close();
  }
  const sessionsExisted = existsSync(dirs.sessions);
  mkdirSync(folderDir, { recursive: true });
  try {
    const memory = path.join(folderDir, "AGENTS.md");
    writeFileSync(memory, initialMemory(request.assistantName, chat.name), { flag: "wx" });
    mkdirSync(dirs.sessions, { recursive: true });
    const owned = [folderDir, memory, dirs.sessions];
    if (!existsSync(dirs.global)) {
      mkdirSync(dirs.global, { recursive: true });
      const globalMemory = path.join(dirs.global, "AGENTS.md");
      writeFileSync(globalMemory, "# Shared memory\n\nFacts every chat's agent may use.\n", { flag: "wx" });
      owned.push(dirs.global, globalMemory);
    }
    // Once, here: the agent's user owns what nestbox created for it; what it writes later is its own.
    giveToAgent(owned, agentOwner());
    const db = Store.open(dataDir);
    try {
      db.chats.insert(chat);
    } finally {
      db.close();
    }
  } catch (err) {
    rmSync(folderDir, { recursive: true, force: true });
    if (!sessionsExisted) rmSync(dirs.sessions, { recursive: true, force: true });
    throw err;
  }
  return chat;
}
