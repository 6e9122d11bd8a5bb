// The benchmark's CI smoke step (issue 6): `npm run bench -- --quick` runs every row to completion with
// zero errors. It asserts nothing about speed: these machines are shared and noisy.
import { expect, test } from "bun:test";
import { resolve } from "node:path";

const root = resolve(import.meta.dir, "..");

test("npm run bench -- --quick completes every row without errors", async () => {
  const proc = Bun.spawn([process.execPath, "bench/run.ts", "--quick", "--no-build"], {
    cwd: root,
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  if (code !== 0) console.error(`bench --quick failed (exit ${code}):\n${err.slice(-4000)}`);
  expect(code).toBe(0);
  for (const row of [
    "direct",
    "passthrough",
    "paid, embedded store",
    "paid, etcd",
    "GetChannelState",
    "grpc-web",
    "direct HTTP service",
    "paid, HTTP service",
  ])
    expect(out).toContain(`| ${row}`);
}, 600_000);
