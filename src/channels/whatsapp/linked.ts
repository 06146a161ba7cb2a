import { readFile } from "node:fs/promises";
import path from "node:path";

// Apart from auth-state.ts on purpose: `nestbox start` asks whether WhatsApp is linked without loading baileys.

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
