#!/usr/bin/env bun
/**
 * `npm run crashloop -- --kills 1000 [--store sqlite|etcd|both] [--channels 4]`: the crash-safety figure
 * (issue 16, README "Reliability"). SIGKILLs dist/snetd at random points of paid calls and restarts it,
 * `--kills` times per store, then reports stuck channels and lost signed amounts; both must be 0, and the
 * exit code is 1 when they are not. The loop itself is tests/kit/crashloop.ts.
 */
import { parseArgs } from "node:util";
import { type CrashStore, formatReport, runCrashLoop } from "../tests/kit/crashloop.ts";

const { values } = parseArgs({
  options: {
    kills: { type: "string", default: "1000" },
    store: { type: "string", default: "both" },
    channels: { type: "string", default: "4" },
  },
});
const kills = Number(values.kills);
const channels = Number(values.channels);
if (!Number.isSafeInteger(kills) || kills < 1)
  throw new Error(`--kills "${values.kills}" is not a positive whole number`);
if (!Number.isSafeInteger(channels) || channels < 1)
  throw new Error(`--channels "${values.channels}" is not a positive whole number`);
const stores: CrashStore[] =
  values.store === "both"
    ? ["sqlite", "etcd"]
    : values.store === "sqlite" || values.store === "etcd"
      ? [values.store]
      : [];
if (stores.length === 0) throw new Error(`--store "${values.store}" is not sqlite, etcd or both`);

let failed = false;
for (const store of stores) {
  const report = await runCrashLoop({ kills, store, channels, log: (l) => console.log(l) });
  console.log(formatReport(report));
  for (const f of report.findings)
    console.log(`  finding: channel ${f.channel} ${f.kind}: store holds ${f.held}, client expects ${f.expected}`);
  for (const r of report.refusedBeforeKill.slice(0, 10)) console.log(`  refused before the kill: ${r}`);
  if (
    report.stuckChannels > 0 ||
    report.findings.length > 0 ||
    report.unclaimedCogs !== 0n ||
    report.refusedBeforeKill.length > 0
  )
    failed = true;
}
process.exit(failed ? 1 : 0);
