// The pure parts (signatures, numbers, escrow core, config, store) and the admin listener also run under Deno (deno.json "test").
import { expect, test } from "bun:test";
import { existsSync } from "node:fs";

const root = new URL("../../", import.meta.url).pathname;
const deno = `${root}node_modules/deno/deno`;

test("the pure parts pass under Deno", async () => {
  expect(existsSync(deno)).toBe(true);
  const proc = Bun.spawn([deno, "task", "test"], {
    cwd: root,
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, NO_COLOR: "1" },
  });
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  if (code !== 0) console.error(out, err);
  expect(code).toBe(0);
  expect(out).toMatch(/ok \| \d+ passed \| 0 failed/);
}, 120_000);
