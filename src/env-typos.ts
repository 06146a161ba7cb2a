import { CONFIG_VARIABLES } from "./config.js";

/** Variables nestbox reads outside loadConfig (sandbox, Docker, agents' side, test and script knobs). */
const READ_ELSEWHERE = [
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "NO_PROXY",
  "NODE_EXTRA_CA_CERTS",
  "SSL_CERT_FILE",
  "SSL_CERT_DIR",
  "DOCKER_TLS_VERIFY",
  "DOCKER_CERT_PATH",
  "SSH_AUTH_SOCK",
  "NESTBOX_REQUIRE_DOCKER",
  "NESTBOX_REBUILD_SANDBOX",
  "NESTBOX_CACHE_DIR",
  "NESTBOX_BASE_PACKAGES",
  "NESTBOX_MODEL",
  "NESTBOX_MODEL_PROVIDER",
  "NESTBOX_MODEL_BASE_URL",
  "NESTBOX_MODEL_TOKEN",
  "NESTBOX_MODEL_THINKING",
  "NESTBOX_GROUP_DIR",
  "NESTBOX_GLOBAL_DIR",
  "NESTBOX_SESSIONS_DIR",
  "NESTBOX_SKILLS_DIR",
];

/** Name prefixes that only nestbox's own variables use here: an unknown one is most likely a typo. */
const FAMILIES = [
  "NESTBOX",
  "TELEGRAM",
  "WHATSAPP",
  "OPENAI",
  "ANTHROPIC",
  "AGENT",
  "MODEL",
  "CATCHUP",
  "CREDENTIAL",
  "ASSISTANT",
];

/** Levenshtein distance (names are short: the plain table is fine). */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++)
      row[j] = Math.min(
        (prev[j] as number) + 1,
        (row[j - 1] as number) + 1,
        (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    prev = row;
  }
  return prev[b.length] as number;
}

/** A variable that looks like one of nestbox's but is not, and the known name it most likely means. */
export interface EnvTypo {
  name: string;
  suggestion: string | null;
}

/**
 * Unknown variables that look like nestbox's: in one of its name families (NESTBOX_, TELEGRAM_,
 * OPENAI_...), or within two edits of a known name. Test knobs (NESTBOX_TEST_*) are not typos.
 */
export function envTypos(
  env: Record<string, string | undefined>,
  known: readonly string[] = [...CONFIG_VARIABLES, ...READ_ELSEWHERE],
): EnvTypo[] {
  const names = new Set(known.map((k) => k.toUpperCase()));
  const typos: EnvTypo[] = [];
  for (const raw of Object.keys(env)) {
    const name = raw.toUpperCase();
    if (names.has(name) || name.startsWith("NESTBOX_TEST_") || env[raw] === undefined) continue;
    const family = FAMILIES.includes(name.split("_")[0] ?? "");
    let best: string | null = null;
    let bestDistance = Number.POSITIVE_INFINITY;
    for (const k of names) {
      // Underscores in the wrong place (OPENAI_BASEURL) are as close as it gets.
      const d = k.replaceAll("_", "") === name.replaceAll("_", "") ? 0.5 : distance(name, k);
      if (d < bestDistance) [best, bestDistance] = [k, d];
    }
    const close = bestDistance <= (name.length >= 8 ? 2 : 1);
    if (close || family)
      typos.push({ name: raw, suggestion: close || bestDistance <= name.length / 3 ? best : null });
  }
  return typos;
}

/** One line for a person: `OPENAI_BASEURL (did you mean OPENAI_BASE_URL?)`. */
export function describeTypo(t: EnvTypo): string {
  return t.suggestion ? `${t.name} (did you mean ${t.suggestion}?)` : `${t.name} (not a nestbox variable)`;
}
