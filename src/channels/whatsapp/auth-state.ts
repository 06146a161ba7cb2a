import { rm } from "node:fs/promises";
import { type AuthenticationState, useMultiFileAuthState } from "@whiskeysockets/baileys";

export { hasRegisteredCredentials, readLinkedAccount } from "./linked.js";

/** A multi-file auth state whose credential saves run one at a time and can be awaited. */
export interface AuthStore {
  state: AuthenticationState;
  /** Queues a write of `creds.json` (call on every `creds.update`). */
  saveCreds(): Promise<void>;
  /** Resolves once every queued write has finished. */
  flush(): Promise<void>;
  /** Drops writes queued after this point (the state is about to be wiped or abandoned). */
  close(): void;
}

/** Opens (creating when missing) the baileys multi-file auth state in `dir`; failed writes go to `onError`. */
export async function openAuthStore(
  dir: string,
  onError: (err: unknown) => void = () => {},
): Promise<AuthStore> {
  const { state, saveCreds } = await useMultiFileAuthState(dir);
  let queue: Promise<void> = Promise.resolve();
  let closed = false;
  return {
    state,
    saveCreds() {
      if (closed) return queue;
      queue = queue.then(saveCreds).catch(onError);
      return queue;
    },
    flush: () => queue,
    close() {
      closed = true;
    },
  };
}

/** Removes the auth state directory and everything in it. */
export async function wipeAuthDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
