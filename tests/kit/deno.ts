/**
 * The daemon under Deno (issue #14): the Deno from npm, and the commands that run src/main.ts with the
 * permissions deno.json's `snetd` task grants, so the tests and `deno task serve` ask for the same ones.
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";

const repoRoot = resolve(import.meta.dir, "../..");

/** node_modules/deno/deno, pinned in package.json. */
export const DENO = join(repoRoot, "node_modules/deno/deno");

/** The `deno run …` flags of deno.json's `snetd` task. */
export function denoRunFlags(): string[] {
  const tasks = (JSON.parse(readFileSync(join(repoRoot, "deno.json"), "utf8")) as { tasks: Record<string, string> })
    .tasks;
  const task = tasks.snetd;
  if (!task) throw new Error(`deno.json has no "snetd" task; expected the command that runs src/main.ts`);
  // A path in a flag is relative to the task's directory (the repository root); the tests run elsewhere.
  return task
    .split(/\s+/)
    .filter((word) => word.startsWith("--"))
    .map((flag) =>
      flag.replace(
        /^(--allow-[a-z]+=)(?!\/)(.+)$/,
        (_, name: string, path: string) => `${name}${resolve(repoRoot, path)}`,
      ),
    );
}

/** `deno run <flags> src/main.ts`: the CLI under Deno, in the caller's working directory. */
export function denoSnetdCommand(): string[] {
  return [DENO, "run", ...denoRunFlags(), join(repoRoot, "src/main.ts")];
}

/** `deno task <name>` with the repository's deno.json; the task runs in the repository root. */
export function denoTaskCommand(name: string): string[] {
  return [DENO, "task", "--quiet", "--config", join(repoRoot, "deno.json"), name];
}
