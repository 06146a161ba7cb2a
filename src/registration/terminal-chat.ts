import type { Config } from "../config.js";
import { Store } from "../store/index.js";
import { registerChat } from "./register-chat.js";

/** Makes sure `local:console` is registered: as the main chat when there is none yet. */
export function ensureTerminalChat(config: Config): void {
  const store = Store.open(config.dataDir);
  const existing = store.chats.get("local:console");
  const hasMain = store.chats.main() !== null;
  const folder = store.chats.byFolder("main") ? "terminal" : "main";
  store.close();
  if (existing) return;
  registerChat(config.dataDir, {
    assistantName: config.assistantName,
    chat: {
      chatId: "local:console",
      channel: "terminal",
      name: "Terminal",
      folder,
      trigger: `@${config.assistantName}`,
      requiresTrigger: false,
      isMain: !hasMain,
      allowedSenders: null,
      limits: null,
      extraMounts: [],
      createdAt: Date.now(),
    },
  });
}
