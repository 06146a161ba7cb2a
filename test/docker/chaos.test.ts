// The chaos suite's short profile, as CI runs it: every scenario against the real host and real agent
// containers; any lost message, unexplained duplicate or apology fails. `npm run chaos` runs the full
// profile (docs/reliability.md has its figures).
import { expect, it } from "vitest";
import { SCENARIOS } from "../chaos/scenarios.js";
import { judge, table } from "../chaos/verdict.js";
import { AGENT_IMAGE, describeDocker } from "./support.js";

describeDocker("chaos, short profile", () => {
  for (const scenario of SCENARIOS) {
    it(`${scenario.name}: ${scenario.what}`, async () => {
      const result = await scenario.run({ profile: "short", agentImage: AGENT_IMAGE, verbose: false });
      process.stderr.write(`${table([result])}\n`);
      expect(result.pushed).toBeGreaterThan(0);
      expect(judge(result)).toEqual([]);
    }, 240_000);
  }
});
