import { type ParseArgsConfig, parseArgs } from "node:util";
import { UsageError } from "../errors.js";
import { type CommandIO, fail } from "./io.js";
import { nestboxVersion } from "./project.js";

/** A command's flags and help text: the one description every command's argument parsing uses. */
export interface CommandSpec<O extends ParseArgsOptionsConfig> {
  /** How the user names it in messages, e.g. `status` or `setup register`. */
  name: string;
  /** Printed by `--help` / `-h` and after a usage error's hint. */
  usage: string;
  /** The command's own flags; `--help`/`-h` and `--version`/`-V` are added to every command, `--json` when `json` is set. */
  options: O;
  /** The command has output that scripts read: accept `--json`. */
  json?: boolean;
  /** Positional arguments allowed (e.g. `auth whatsapp`); none by default. */
  positionals?: boolean;
}

/** The flag table node:util parseArgs takes. */
export type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig["options"]>;

const BUILTIN = {
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "V" },
  json: { type: "boolean" },
} as const;

type All<O extends ParseArgsOptionsConfig> = O & typeof BUILTIN;
type Values<O extends ParseArgsOptionsConfig> = ReturnType<
  typeof parseArgs<{ options: All<O>; strict: true; allowPositionals: true }>
>["values"];

/** What {@link parseCommand} found: the flags' values, positionals, and whether `--help` or `--version` was asked. */
export interface ParsedCommand<O extends ParseArgsOptionsConfig> {
  values: Values<O>;
  positionals: string[];
  help: boolean;
  version: boolean;
  json: boolean;
}

/** `--a, --b <value>, --json, --help`: the flags a command takes, for error messages. */
export function flagList(spec: CommandSpec<ParseArgsOptionsConfig>): string {
  const own = Object.entries(spec.options).map(([k, o]) =>
    o.type === "string" ? `--${k} <value>` : `--${k}`,
  );
  return [...own, ...(spec.json ? ["--json"] : []), "--help"].join(", ");
}

/**
 * Parses `argv` strictly with node:util parseArgs; an unknown flag, a missing value or a stray
 * argument throws a UsageError naming it and the flags the command takes.
 */
export function parseCommand<O extends ParseArgsOptionsConfig>(
  spec: CommandSpec<O>,
  argv: string[],
): ParsedCommand<O> {
  const options = {
    ...spec.options,
    help: BUILTIN.help,
    version: BUILTIN.version,
    ...(spec.json ? { json: BUILTIN.json } : {}),
  };
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: spec.positionals === true });
  } catch (err) {
    throw usageError(spec, err);
  }
  return {
    values: parsed.values as Values<O>,
    positionals: parsed.positionals,
    help: parsed.values.help === true,
    version: parsed.values.version === true,
    json: parsed.values.json === true,
  };
}

function usageError(spec: CommandSpec<ParseArgsOptionsConfig>, err: unknown): UsageError {
  const e = err as { code?: string; message?: string };
  const quoted = /'([^']+)'/.exec(e.message ?? "")?.[1] ?? "";
  const flag = quoted.replace(/ <value>$/, "");
  const what =
    e.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION"
      ? `unknown flag ${flag}`
      : e.code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL"
        ? `unexpected argument "${quoted}"`
        : e.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE"
          ? /missing/.test(e.message ?? "")
            ? `${flag} needs a value`
            : `${flag} takes no value`
          : (e.message ?? String(err));
  return new UsageError(`${what}: "${spec.name}" takes ${flagList(spec)}`, { cause: err });
}

/**
 * Runs one command the same way everywhere: `--help` prints its usage (`--version` the version) and
 * exits 0 without running it;
 * a usage error exits 2 and any other failure 1, each with one line naming the cause and the fix.
 */
export async function runCommand<O extends ParseArgsOptionsConfig>(
  io: CommandIO,
  spec: CommandSpec<O>,
  argv: string[],
  body: (args: ParsedCommand<O>) => Promise<number>,
): Promise<number> {
  let args: ParsedCommand<O>;
  try {
    args = parseCommand(spec, argv);
  } catch (err) {
    return fail(io, err, spec.json === true && argv.includes("--json"));
  }
  if (args.help) {
    io.stdout.write(spec.usage.endsWith("\n") ? spec.usage : `${spec.usage}\n`);
    return 0;
  }
  if (args.version) return printVersion(io);
  try {
    return await body(args);
  } catch (err) {
    return fail(io, err, args.json);
  }
}

/** A command ready to run: gets its own argv (the command name removed), returns the exit code. */
export type Command = (argv: string[], io: CommandIO) => Promise<number>;

/** Makes a command from its flags and its body; parsing, `--help` and failures are handled by {@link runCommand}. */
export function defineCommand<O extends ParseArgsOptionsConfig>(
  spec: CommandSpec<O>,
  body: (args: ParsedCommand<O>, io: CommandIO) => Promise<number>,
): Command {
  return (argv, io) => runCommand(io, spec, argv, (args) => body(args, io));
}

/** `--version`: prints `nestbox <version>` and returns exit code 0. */
export function printVersion(io: Pick<CommandIO, "stdout">): number {
  io.stdout.write(`nestbox ${nestboxVersion()}\n`);
  return 0;
}

/** Whether a command line asks only for help or the version (`-h`, `--help`, `-V`, `--version`). */
export function asksFor(argv: string[]): "help" | "version" | null {
  if (argv.some((a) => a === "--help" || a === "-h")) return "help";
  if (argv.some((a) => a === "--version" || a === "-V")) return "version";
  return null;
}
