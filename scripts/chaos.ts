// npm run chaos [-- --profile short|full] [--only a,b] [--verbose]
// Fault injection against the real host, real agent containers, the Bot API double and a scripted
// model; counts every message (lost / answered once / duplicated) and exits 1 on any loss.
import { execFileSync } from "node:child_process";
import type { ScenarioResult } from "../test/chaos/ledger.js";
import { type Profile, SCENARIOS } from "../test/chaos/scenarios.js";
import { judge, table } from "../test/chaos/verdict.js";

function parse(argv: string[]): { profile: Profile; only: string[] | null; verbose: boolean } {
  let profile: Profile = "full";
  let only: string[] | null = null;
  let verbose = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--profile") {
      const v = argv[++i];
      if (v !== "short" && v !== "full") throw new Error(`--profile must be short or full, got ${v}`);
      profile = v;
    } else if (a === "--only") only = (argv[++i] ?? "").split(",").filter(Boolean);
    else if (a === "--verbose") verbose = true;
    else if (a === "--help" || a === "-h") {
      console.log(
        `npm run chaos -- [--profile short|full] [--only ${SCENARIOS.map((s) => s.name).join(",")}] [--verbose]`,
      );
      process.exit(0);
    } else throw new Error(`unknown option ${a}; see --help`);
  }
  const unknown = (only ?? []).filter((o) => !SCENARIOS.some((s) => s.name === o));
  if (unknown.length > 0) throw new Error(`unknown scenario ${unknown.join(", ")}`);
  return { profile, only, verbose };
}

const options = parse(process.argv.slice(2));
const agentImage = process.env.NESTBOX_TEST_AGENT_IMAGE ?? process.env.AGENT_IMAGE ?? "nestbox-agent:latest";
try {
  execFileSync("docker", ["image", "inspect", agentImage], { stdio: "ignore" });
} catch {
  console.error(
    `the agent image ${agentImage} is missing: build it with npm run setup -- container (or set AGENT_IMAGE)`,
  );
  process.exit(1);
}
const results: ScenarioResult[] = [];
let failed = 0;
for (const s of SCENARIOS.filter((x) => !options.only || options.only.includes(x.name))) {
  process.stderr.write(`chaos: ${s.name} (${s.what}) ...\n`);
  const r = await s.run({ profile: options.profile, agentImage, verbose: options.verbose });
  results.push(r);
  const why = judge(r);
  if (why.length > 0) failed += 1;
  process.stderr.write(
    `chaos: ${s.name}: ${why.length === 0 ? "ok" : `FAILED: ${why.join("; ")}`} (${r.seconds} s)\n`,
  );
  for (const note of r.notes) process.stderr.write(`  ${note}\n`);
}
console.log(table(results));
process.exit(failed > 0 ? 1 : 0);
