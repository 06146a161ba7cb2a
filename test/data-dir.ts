import { chmodSync } from "node:fs";
import type { RegisteredChat } from "../src/registration/chat.js";
import { registerChat } from "../src/registration/register-chat.js";
import { Store } from "../src/store/index.js";

/** A chat to seed: its id, channel and folder; the rest has defaults (every message answered). */
export interface SeedChat {
  chatId: string;
  channel: RegisteredChat["channel"];
  folder: string;
  name?: string;
  isMain?: boolean;
}

/**
 * A data folder as a user's would be for a host process: its install id, the chats registered
 * through the product's own registration, and readable by the agents' uid (a real data folder is
 * 0755; mkdtemp makes 0700, which the start-up probe's container could not look into).
 */
export function seedDataDir(dataDir: string, installId: string, chats: SeedChat[]): void {
  const store = Store.open(dataDir);
  store.meta.set("install_id", installId);
  store.close();
  chmodSync(dataDir, 0o755);
  for (const c of chats) {
    registerChat(dataDir, {
      assistantName: "Andy",
      chat: {
        chatId: c.chatId,
        channel: c.channel,
        name: c.name ?? c.folder,
        folder: c.folder,
        trigger: "@Andy",
        requiresTrigger: false,
        isMain: c.isMain ?? false,
        allowedSenders: null,
        limits: null,
        extraMounts: [],
        createdAt: Date.now(),
      },
    });
  }
}
