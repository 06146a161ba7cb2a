// Startup phase marks of the runner: milliseconds since the node process began (performance.now()),
// sent to the host once, in a `log` frame after the first turn, so the host log and the cold-start
// bench (scripts/bench/cold.ts) can read where a cold reply's time went. Measuring only: nothing
// here changes what the runner does.

/** Marks by name, in the order they were taken. */
const marks: Record<string, number> = {};
/** Facts about the start worth reporting beside the marks (how pi was loaded, the code cache's fate). */
const facts: Record<string, string | boolean> = {};
let reported = false;

/** Records `name` at the current time (the first time only). */
export function mark(name: string): void {
  marks[name] ??= Math.round(performance.now() * 10) / 10;
}

/** Records a fact about this start (for example whether V8 accepted the code cache). */
export function note(name: string, value: string | boolean): void {
  facts[name] = value;
}

/** The `log` line with the marks, the first time it is asked for; null afterwards. */
export function startupReport(): string | null {
  if (reported) return null;
  reported = true;
  return `${STARTUP_LOG_PREFIX}${JSON.stringify({ marks, ...facts })}`;
}

/** How the startup line begins (the bench looks for it in the host log). */
export const STARTUP_LOG_PREFIX = "startup phases ";
