#!/usr/bin/env bun
/**
 * `npm run fuzz -- --minutes N [--scale K] [filter]`: the property and fuzz suites of tests/fuzz/ for long
 * runs (issue 16). Runs them round after round, each round with a fresh seed and every property's run
 * count multiplied by K (default 20), until N minutes (default 10) have passed. Stops at the first failing
 * round and prints how to replay it; exit 0 means every round passed.
 */
import { parseArgs } from "node:util";

const { values, positionals } = parseArgs({
  options: { minutes: { type: "string", default: "10" }, scale: { type: "string", default: "20" } },
  allowPositionals: true,
});
const minutes = Number(values.minutes);
const scale = Number(values.scale);
if (!(minutes > 0)) throw new Error(`--minutes "${values.minutes}" is not a positive number`);
if (!(scale > 0)) throw new Error(`--scale "${values.scale}" is not a positive number`);

const deadline = Date.now() + minutes * 60_000;
const target = positionals[0] ?? "tests/fuzz/";
let round = 0;
while (Date.now() < deadline) {
  round++;
  const seed = Math.floor(Math.random() * 2 ** 31);
  console.log(
    `fuzz round ${round}: SNETD_FUZZ_SEED=${seed} SNETD_FUZZ_SCALE=${scale} (${Math.round((deadline - Date.now()) / 1000)} s left)`,
  );
  const proc = Bun.spawn({
    cmd: [process.execPath, "test", "--timeout=600000", target],
    env: { ...process.env, SNETD_FUZZ_SEED: String(seed), SNETD_FUZZ_SCALE: String(scale) },
    stdout: "inherit",
    stderr: "inherit",
  });
  if ((await proc.exited) !== 0) {
    console.error(
      `fuzz: round ${round} failed; replay it with: SNETD_FUZZ_SEED=${seed} SNETD_FUZZ_SCALE=${scale} bun test ${target}`,
    );
    process.exit(1);
  }
}
console.log(`fuzz: ${round} round(s) passed in ${minutes} min`);
