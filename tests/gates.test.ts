// Static gates that CI runs inside `npm test`: the type checker over the whole tree, Deno's checker over
// src/ (the daemon's source must type-check on both runtimes), the architecture rules, and Biome's linter and
// formatter (biome.jsonc). Each prints the tool's own output when it fails. The
// architecture rules themselves are tested in tests/unit/architecture.test.ts.
import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";

function run(command: string, args: string[]): { status: number | null; output: string } {
  const r = spawnSync(command, args, {
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1" },
    maxBuffer: 64 * 1024 * 1024,
  });
  return { status: r.status, output: `${r.stdout ?? ""}${r.stderr ?? ""}${r.error ? String(r.error) : ""}` };
}

function expectClean(r: { status: number | null; output: string }) {
  if (r.status !== 0) console.error(r.output);
  expect(r.status).toBe(0);
}

describe("static gates", () => {
  test("tsc --noEmit: the whole tree type-checks (strict)", () => {
    expectClean(run("./node_modules/.bin/tsc", ["--noEmit", "-p", "."]));
  }, 180_000);

  test("deno check src/: the daemon's source type-checks under Deno too", () => {
    expectClean(run("./node_modules/deno/deno", ["check", "--quiet", "src/"]));
  }, 180_000);

  test("scripts/check-architecture.ts: imports point down, files small, messages in the catalogue", () => {
    expectClean(run(process.execPath, ["scripts/check-architecture.ts", "src"]));
  }, 60_000);

  test("biome check: the tree lints clean (no error, warning or info) and is formatted", () => {
    const r = run("./node_modules/.bin/biome", ["check", "--error-on-warnings", "--max-diagnostics=500", "."]);
    expectClean(r);
    // Infos (useTemplate, say) leave the exit code at 0; the summary names them.
    expect(r.output).not.toMatch(/Found \d+ (errors?|warnings?|infos?)/);
  }, 60_000);
});
