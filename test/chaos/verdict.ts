import type { ScenarioResult } from "./ledger.js";

/** What must hold in every scenario; the reasons it failed (none: passed). */
export function judge(r: ScenarioResult): string[] {
  const why: string[] = [];
  if (r.lost.length > 0) why.push(`${r.lost.length} lost (${r.lost.slice(0, 8).join(", ")})`);
  if (r.duplicated.length > 0) {
    why.push(
      `${r.duplicated.length} duplicated without a counted resend (${r.duplicated.slice(0, 8).join(", ")})`,
    );
  }
  if (r.apologies > 0) why.push(`${r.apologies} apology-only answers`);
  if (r.name === "slow-chat") {
    const others = Object.entries(r.slowestAnswerMs).filter(([chat]) => !chat.endsWith("7100"));
    const worst = Math.max(0, ...others.map(([, ms]) => ms));
    if (worst > 10_000) why.push(`another chat waited ${worst} ms behind the slow chat's sends`);
  }
  return why;
}

/** One table row per scenario, for the console and docs/reliability.md. */
export function table(results: ScenarioResult[]): string {
  const head =
    "| scenario | faults | pushed | stored | lost | answered once | duplicated (explained) | resends | apologies | slowest answer | s |";
  const rule = "|---|---|---|---|---|---|---|---|---|---|---|";
  const rows = results.map((r) => {
    const faults =
      Object.entries(r.faults)
        .map(([k, v]) => `${v} ${k}`)
        .join(", ") || "none";
    const slowest = Math.max(0, ...Object.values(r.slowestAnswerMs));
    return `| ${r.name} | ${faults} | ${r.pushed} | ${r.stored} | ${r.lost.length} | ${r.answeredOnce} | ${r.duplicated.length} (${r.explainedDuplicates}) | ${r.resends} | ${r.apologies} | ${(slowest / 1000).toFixed(1)} s | ${r.seconds} |`;
  });
  return [head, rule, ...rows].join("\n");
}
