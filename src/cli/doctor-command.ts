import { loadContext } from "../context.js";
import { printDoctor, runDoctor } from "../setup/doctor.js";
import { DOCTOR_HELP } from "../setup/verify.js";
import { type Command, defineCommand } from "./args.js";

/** `nestbox doctor [--fix] [--json]`; its own module so `start` never loads the checks (grammy among them). */
export function doctorCommand(projectDir: string): Command {
  return defineCommand(
    {
      name: "doctor",
      usage: `Usage: nestbox doctor [--fix] [--json]\n\n${DOCTOR_HELP}`,
      options: { fix: { type: "boolean" } },
      json: true,
    },
    async ({ values, json }, io) => {
      const checks = await runDoctor(loadContext(io), {
        fix: values.fix === true,
        projectDir,
        progress: (line) => io.stderr.write(`${line}\n`),
      });
      return printDoctor(io, checks, json);
    },
  );
}
