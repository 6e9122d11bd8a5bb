// The static gates of tests/gates.test.ts must catch a planted violation, with the project's own settings:
// tsc with tsconfig.json (strict, noUncheckedIndexedAccess), deno check with deno.json (no Bun globals in
// src/), Biome with biome.jsonc (lint and format). Each planted file lives in a temporary directory; the
// repository is not touched. The architecture gate has its own planted trees (architecture.test.ts).
import { afterAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const repo = resolve(import.meta.dir, "../..");
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function scratch(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "snetd-gate-"));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

function run(command: string, args: string[], opts: { cwd?: string; input?: string } = {}) {
  const r = spawnSync(command, args, {
    cwd: opts.cwd ?? repo,
    input: opts.input,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1" },
  });
  return { status: r.status, output: `${r.stdout ?? ""}${r.stderr ?? ""}` };
}

describe("the static gates catch planted violations", () => {
  test("tsc with the project's tsconfig: an unchecked indexed read is an error", () => {
    const dir = scratch({
      "planted.ts": "const names: string[] = [];\nexport const first: string = names[0];\n",
      "tsconfig.json": JSON.stringify({
        extends: join(repo, "tsconfig.json"),
        compilerOptions: { typeRoots: [join(repo, "node_modules/@types")] },
        include: ["planted.ts"],
      }),
    });
    const r = run(join(repo, "node_modules/.bin/tsc"), ["--noEmit", "-p", join(dir, "tsconfig.json")]);
    expect(r.status).not.toBe(0);
    expect(r.output).toContain("error TS2322");
  }, 120_000);

  test("deno check with the project's deno.json: a Bun global in daemon code is an error", () => {
    const dir = scratch({ "planted.ts": 'export const server = Bun.serve({ fetch: () => new Response("x") });\n' });
    const r = run(join(repo, "node_modules/deno/deno"), [
      "check",
      "--quiet",
      "--config",
      join(repo, "deno.json"),
      join(dir, "planted.ts"),
    ]);
    expect(r.status).not.toBe(0);
    expect(r.output).toContain("Cannot find name 'Bun'");
  }, 120_000);

  test("biome with the project's biome.jsonc: a lint finding and a formatting drift both fail", () => {
    const biome = join(repo, "node_modules/.bin/biome");
    // A scratch project with the repository's configuration (a git repository, as its vcs setting expects).
    const config = readFileSync(join(repo, "biome.jsonc"), "utf8").replace(/"\$schema": "[^"]*",?/, "");
    const dir = scratch({ "biome.jsonc": config });
    run("git", ["init", "-q"], { cwd: dir });
    mkdirSync(join(dir, "src"));
    const check = (args: string[], text: string) => {
      writeFileSync(join(dir, "src/planted.ts"), text);
      return run(biome, [...args, "src/planted.ts"], { cwd: dir });
    };
    expect(check(["lint"], "export function f(a: number): number {\n  return a;\n}\n").status).toBe(0);
    const lint = check(["lint"], "export function f(a: number): number {\n  let b = 0;\n  return (b = a), b;\n}\n");
    expect(lint.status).not.toBe(0);
    expect(lint.output).toContain("lint/complexity/noCommaOperator");
    expect(check(["format"], "export const x = { a: 1, b: 2 };\n").status).toBe(0);
    expect(check(["format"], "export const x = {a:1,\n b :2}\n").status).not.toBe(0);
  }, 60_000);
});
