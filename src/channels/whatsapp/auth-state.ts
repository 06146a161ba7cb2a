import { readFile, rm } from "node:fs/promises";
import path from "node:path";
import { type AuthenticationState, useMultiFileAuthState } from "@whiskeysockets/baileys";

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

/**
 * Whether `authDir` holds linked credentials: `creds.json` with `registered` true or an account
 * (`me`) set. The WhatsApp channel starts only then.
 */
export async function hasRegisteredCredentials(authDir: string): Promise<boolean> {
  return (await readLinkedAccount(authDir)) !== null;
}

/** The linked account's JID (`<number>:<device>@s.whatsapp.net`) from `creds.json`, or null if not linked. */
export async function readLinkedAccount(authDir: string): Promise<string | null> {
  let creds: { registered?: unknown; me?: { id?: unknown } | null };
  try {
    creds = JSON.parse(await readFile(path.join(authDir, "creds.json"), "utf8"));
  } catch {
    return null;
  }
  const id = typeof creds?.me?.id === "string" ? creds.me.id : null;
  if (id) return id;
  return creds?.registered === true ? "" : null;
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
