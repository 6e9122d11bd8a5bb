/**
 * Where tests/kit/setup.sh puts the tools it builds or installs outside the system (Pebble, the SMTP
 * venv), and how a suite finds one, with an error that says how to get it.
 */
import { accessSync, constants } from "node:fs";
import { homedir } from "node:os";
import { delimiter, join } from "node:path";

export const TOOLS_DIR = process.env.SNETD_TEST_TOOLS ?? join(homedir(), ".cache", "snetd-test-tools");

/** First executable among an env override, the tools cache and PATH; throws naming the fix. */
export function findTool(name: string, envVar: string, extra: string[] = []): string {
  const fromEnv = process.env[envVar];
  const candidates = fromEnv
    ? [fromEnv]
    : [
        join(TOOLS_DIR, "bin", name),
        ...extra,
        ...(process.env.PATH ?? "")
          .split(delimiter)
          .filter(Boolean)
          .map((d) => join(d, name)),
      ];
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // not this one
    }
  }
  throw new Error(
    `'${name}' is not installed: run tests/kit/setup.sh (looked for ${fromEnv ? `${envVar}="${fromEnv}"` : `${join(TOOLS_DIR, "bin", name)} and "${name}" on PATH`})`,
  );
}
