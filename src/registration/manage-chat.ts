import { existsSync, rmSync } from "node:fs";
import path from "node:path";
import { chatDirs } from "../containers/agent-spec.js";
import { NestboxError, UsageError } from "../errors.js";
import { Store } from "../store/index.js";
import { type RegisteredChat, sanitizeName } from "./chat.js";
import { type ChatProblem, chatProblems } from "./chat-schema.js";

/** A chat id that is not registered: names the command that lists the registered ones. */
export class ChatNotRegisteredError extends NestboxError {
  constructor(chatId: string) {
    super(
      "CHAT_NOT_REGISTERED",
      `${chatId} is not registered: run "npm run setup -- chats" to see the chats`,
    );
  }
}

/** A chat's settings that failed the chat schema; each problem names its field. */
export class ChatEditRefusedError extends UsageError {
  constructor(
    readonly problems: ChatProblem[],
    message: string,
  ) {
    super(message);
  }
}

function withStore<T>(dataDir: string, fn: (store: Store) => T): T {
  if (!existsSync(path.join(dataDir, "nestbox.db")))
    throw new NestboxError("NO_STORE", `no chats are registered in ${dataDir} yet`);
  const store = Store.open(dataDir);
  try {
    return fn(store);
  } finally {
    store.close();
  }
}

/** What {@link unregisterChat} does beyond removing the registration. */
export interface UnregisterOptions {
  /** Also delete the chat's folder, sessions and everything stored for it. */
  purge?: boolean;
  /** Allow unregistering the main chat. */
  force?: boolean;
}

/**
 * Removes a chat's registration: nestbox stops answering it. Its folder, sessions and messages stay
 * (registering it again picks them up) unless `purge`. The main chat is refused unless `force`.
 */
export function unregisterChat(
  dataDir: string,
  chatId: string,
  options: UnregisterOptions = {},
): RegisteredChat {
  const chat = withStore(dataDir, (store) => {
    const found = store.chats.get(chatId);
    if (!found) throw new ChatNotRegisteredError(chatId);
    if (found.isMain && !options.force) {
      throw new NestboxError(
        "MAIN_CHAT",
        `${chatId} is the main chat: pass --force to unregister it anyway (another chat can then be registered with --is-main)`,
      );
    }
    store.transaction(() => {
      store.chats.remove(chatId);
      if (options.purge) store.forgetChat(chatId);
    });
    return found;
  });
  if (options.purge) {
    const dirs = chatDirs(dataDir, chat.folder);
    for (const dir of [dirs.group, dirs.sessions]) {
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch (err) {
        // The agent's user owns what it wrote there; the registration and the messages are gone already.
        throw new NestboxError(
          "PURGE_INCOMPLETE",
          `unregistered ${chatId} and deleted its messages, but cannot delete ${dir} (${(err as NodeJS.ErrnoException).code ?? err}): delete it as its owner, e.g. sudo rm -rf ${dir}`,
          { cause: err },
        );
      }
    }
  }
  return chat;
}

/** The settings `setup edit` may change; a limit set to null goes back to the default. */
export interface ChatChanges {
  name?: string;
  trigger?: string;
  requiresTrigger?: boolean;
  limits?: { [K in keyof NonNullable<RegisteredChat["limits"]>]?: number | null };
}

/** The chat with `changes` applied (not yet checked). */
export function applyChanges(chat: RegisteredChat, changes: ChatChanges): RegisteredChat {
  const limits: NonNullable<RegisteredChat["limits"]> = { ...chat.limits };
  for (const [k, v] of Object.entries(changes.limits ?? {}) as [keyof typeof limits, number | null][]) {
    if (v === null) delete limits[k];
    else limits[k] = v;
  }
  return {
    ...chat,
    ...(changes.name !== undefined ? { name: sanitizeName(changes.name) } : {}),
    ...(changes.trigger !== undefined ? { trigger: changes.trigger } : {}),
    ...(changes.requiresTrigger !== undefined ? { requiresTrigger: changes.requiresTrigger } : {}),
    limits: Object.keys(limits).length > 0 ? limits : null,
  };
}

/**
 * Changes a registered chat's settings, validated by the one chat schema; writes nothing when a value
 * is refused (ChatEditRefusedError lists every problem by field). Returns the chat as stored.
 */
export function editChat(dataDir: string, chatId: string, changes: ChatChanges): RegisteredChat {
  return withStore(dataDir, (store) => {
    const found = store.chats.get(chatId);
    if (!found) throw new ChatNotRegisteredError(chatId);
    const edited = applyChanges(found, changes);
    const problems = chatProblems(edited);
    if (problems.length > 0) {
      throw new ChatEditRefusedError(
        problems,
        `cannot change ${chatId}: ${problems.map((p) => `${p.field} ${p.message}`).join("; ")}`,
      );
    }
    store.chats.update(edited);
    return edited;
  });
}
