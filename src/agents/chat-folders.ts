import { lchownSync, lstatSync, mkdirSync } from "node:fs";
import { chatDirs } from "../containers/agent-spec.js";
import { AgentError } from "../errors.js";
import type { RegisteredChat } from "../registration/chat.js";
import type { AgentOwner } from "./agent-user.js";

/** The folders of a chat that its agent may write (global memory only for the main chat). */
export function writableDirs(dataDir: string, chat: Pick<RegisteredChat, "folder" | "isMain">): string[] {
  const dirs = chatDirs(dataDir, chat.folder);
  return chat.isMain ? [dirs.group, dirs.sessions, dirs.global] : [dirs.group, dirs.sessions];
}

/**
 * Gives `paths` to the agent's user when nestbox runs as root. lchown: a symlink an agent planted is
 * re-owned itself, never followed. Not recursive: what the agent wrote is already its own.
 */
export function giveToAgent(paths: readonly string[], owner: AgentOwner): void {
  if (process.getuid?.() !== 0) return;
  for (const p of paths) lchownSync(p, owner.uid, owner.gid);
}

/**
 * Makes sure a chat's folders exist as real directories before its container starts. A folder
 * that is a symlink (or not a directory) is refused rather than mounted; a folder created before
 * registration did the ownership fix-up gets it here, top level only.
 */
export function prepareChatFolders(dataDir: string, chat: RegisteredChat, owner: AgentOwner): void {
  const dirs = chatDirs(dataDir, chat.folder);
  mkdirSync(dirs.skills, { recursive: true });
  mkdirSync(dirs.global, { recursive: true });
  for (const dir of writableDirs(dataDir, chat)) {
    mkdirSync(dir, { recursive: true });
    const st = lstatSync(dir);
    if (!st.isDirectory()) {
      throw new AgentError(
        "CHAT_FOLDER_UNSAFE",
        `${dir} is not a plain folder (a symlink or a file): nestbox will not mount it; move it away and restart`,
      );
    }
    if (st.uid !== owner.uid || st.gid !== owner.gid) giveToAgent([dir], owner);
  }
}
