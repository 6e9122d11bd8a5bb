/** Loads the configuration for a command; problems become one message per problem and exit 2. */
import { ConfigError, loadConfig } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import type { Values } from "./command.ts";
import { CliError, Exit } from "./exit-codes.ts";

export function configFor(
  values: Values,
  warn: (message: string) => void,
  flags: Record<string, unknown> = {},
): Config {
  try {
    const file = typeof values.config === "string" ? values.config : undefined;
    const { config, warnings } = loadConfig({ ...(file ? { file } : {}), env: process.env, flags, cwd: process.cwd() });
    for (const w of warnings) warn(w);
    return config;
  } catch (err) {
    if (err instanceof ConfigError) {
      // Warnings (typo suggestions, renamed keys) often explain the problems, so they come first.
      for (const w of err.warnings) console.error(`warning: ${w}`);
      throw new CliError(Exit.USAGE, `invalid configuration:\n${err.format()}`);
    }
    throw err;
  }
}
