import { parse as parseDotenv } from "dotenv";

/**
 * How systemd's `EnvironmentFile=` reads a line (the common cases): `#`/`;` lines skipped, `KEY=value`
 * with the value's surrounding quotes removed, and no inline comments: `KEY=a # b` is `a # b`.
 */
export function systemdEnvironment(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue; // systemd ignores it (and says so in the journal)
    const value = m[2] as string;
    const quoted = /^"(.*)"$/.exec(value) ?? /^'(.*)'$/.exec(value);
    out[m[1] as string] = quoted ? (quoted[1] as string).replace(/\\(["\\])/g, "$1") : value;
  }
  return out;
}

/**
 * The variables systemd would set to another value than nestbox reads from the same `.env` (an inline
 * comment, say). Under the unit the environment wins over `.env`, so these would change the config.
 * Only names are returned: values may be secrets.
 */
export function envFileMismatches(text: string): string[] {
  const ours = parseDotenv(text);
  const theirs = systemdEnvironment(text);
  return Object.keys(theirs).filter((k) => ours[k] !== theirs[k]);
}
