/** The shape of a subcommand: options for node:util parseArgs, help text, and a run function. */
import { type ParseArgsConfig, parseArgs } from "node:util";
import { usageError } from "./exit-codes.ts";

export type Options = NonNullable<ParseArgsConfig["options"]>;
export type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

export interface Command {
  name: string;
  summary: string;
  /** Usage line and option descriptions, printed by `--help`. */
  help: string;
  options: Options;
  /** Accepts positional arguments (e.g. `list channels`). */
  positionals?: boolean;
  run(values: Values, positionals: string[]): Promise<number>;
}

export const CONFIG_OPTION: Options = { config: { type: "string", short: "c" } };

export function parseCommand(cmd: Command, argv: string[]): { values: Values; positionals: string[]; help: boolean } {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { ...cmd.options, help: { type: "boolean", short: "h" } },
      allowPositionals: cmd.positionals ?? false,
      strict: true,
    });
    return { values: values as Values, positionals, help: values.help === true };
  } catch (err) {
    throw usageError(`${(err as Error).message}\nRun "snetd ${cmd.name} --help" for usage`);
  }
}
