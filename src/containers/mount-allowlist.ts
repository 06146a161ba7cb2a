import { lstatSync, readFileSync, realpathSync, statSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { NestboxError } from "../errors.js";

/** A folder under which extra mounts are allowed; `path` is its real path when it exists. */
export interface AllowlistRoot {
  path: string;
  readWrite: boolean;
}

/**
 * An extra mount, or the allowlist it is checked against, is refused. `mount` names the mount
 * (empty when the allowlist itself is at fault); the message says what to fix.
 */
export class MountRefusedError extends NestboxError {
  override readonly name = "MountRefusedError";
  constructor(
    readonly mount: string,
    readonly reason: string,
    readonly fix: string,
    options?: { cause?: unknown },
  ) {
    super("MOUNT_REFUSED", `${reason} (fix: ${fix})`, options);
  }
}

/** The content a new allowlist file could start with. */
export const ALLOWLIST_EXAMPLE = '{ "roots": [ { "path": "/home/me/notes", "readWrite": false } ] }';

const schema = z.strictObject({
  roots: z.array(
    z.strictObject({
      path: z.string().refine((p) => path.isAbsolute(p), "must be an absolute path"),
      readWrite: z.boolean().default(false),
    }),
  ),
});

/** `child` is `parent` or lies inside it (both absolute, normalised). */
export function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === "" || (rel !== ".." && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

/** The path itself and, when it exists, its real path: rules compare both. */
export function pathVariants(p: string): string[] {
  const abs = path.resolve(p);
  try {
    const real = realpathSync(abs);
    return real === abs ? [abs] : [abs, real];
  } catch {
    return [abs];
  }
}

function refuse(reason: string, fix: string, cause?: unknown): never {
  throw new MountRefusedError("", reason, fix, { cause });
}

/**
 * Reads the mount allowlist. Refused: a missing file (the error says what to create), a file inside
 * the data folder (agents' folders live there), one others can write or replace, invalid JSON or format.
 * Read at every check, so an edit takes effect at the next registration or container start.
 */
export function loadMountAllowlist(
  file: string,
  dataDir: string,
  /** Owners trusted with the file: nestbox's user and root (unknown where there are no uids). */
  owners: number[] | null = process.getuid ? [process.getuid(), 0] : null,
): AllowlistRoot[] {
  try {
    lstatSync(file);
  } catch (err) {
    refuse(
      `no extra mounts are allowed: the mount allowlist ${file} does not exist`,
      `create ${file} listing the folders agents may mount, e.g. ${ALLOWLIST_EXAMPLE} (or point NESTBOX_MOUNT_ALLOWLIST at such a file)`,
      err,
    );
  }
  const real = realpathSync(file);
  if (pathVariants(dataDir).some((d) => isInside(real, d))) {
    refuse(
      `the mount allowlist ${file} lies inside nestbox's data folder ${dataDir}, where agents can write`,
      "move it outside the data folder, e.g. to ~/.config/nestbox/mount-allowlist.json",
    );
  }
  const st = statSync(real);
  if (!st.isFile()) refuse(`the mount allowlist ${file} is not a file`, `make ${file} a JSON file`);
  if (st.mode & 0o002) {
    refuse(`the mount allowlist ${file} is writable by every user`, `run: chmod o-w ${real}`);
  }
  if (owners && !owners.includes(st.uid)) {
    refuse(
      `the mount allowlist ${file} belongs to user ${st.uid}, not to nestbox's user or root`,
      `run: chown ${owners[0]} ${real}`,
    );
  }
  const dir = statSync(path.dirname(real));
  if (dir.mode & 0o002 && !(dir.mode & 0o1000)) {
    refuse(
      `the folder of the mount allowlist ${file} is writable by every user, so anyone can replace the file`,
      `run: chmod o-w ${path.dirname(real)}, or move the file to ~/.config/nestbox/`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(real, "utf8"));
  } catch (err) {
    refuse(
      `the mount allowlist ${file} is not valid JSON: ${(err as Error).message}`,
      `write it like ${ALLOWLIST_EXAMPLE}`,
      err,
    );
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "(top level)"}: ${i.message}`);
    refuse(
      `the mount allowlist ${file} has the wrong format: ${issues.join("; ")}`,
      `write it like ${ALLOWLIST_EXAMPLE}`,
    );
  }
  return parsed.data.roots.map((r) => ({
    path: pathVariants(r.path).at(-1) as string,
    readWrite: r.readWrite,
  }));
}
