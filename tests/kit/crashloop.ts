/**
 * The crash-safety figure (issue 16): dist/snetd on the embedded store or on etcd is SIGKILLed at random
 * points of paid calls, again and again, while several clients pay concurrently, and restarted each time.
 * After every restart each channel's stored amount must be what its client can explain (tests/kit/
 * crash-ledger.ts) and a correct next payment must be accepted within the slot lease TTL; at the end the
 * treasurer (`snetd claim --all`) must move every acknowledged amount on-chain.
 *
 * Used by `npm run crashloop` (scripts/crashloop.ts) and the 50-kill suite in tests/e2e/crashloop.test.ts.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { mpeBalance } from "./client.ts";
import { PROVIDER } from "./contracts.ts";
import { type Account, type Finding, newAccount, paidCall, payNext, reconcile } from "./crash-ledger.ts";
import { type DaemonProcess, ensureBinary, runCli, startDaemon } from "./daemon.ts";
import { type EtcdCluster, startEtcd } from "./etcd.ts";
import { channelState } from "./paid-daemon.ts";
import { freePort } from "./ports.ts";
import { startWorld, type World } from "./world.ts";

export type CrashStore = "sqlite" | "etcd";

export interface CrashLoopOptions {
  kills: number;
  store: CrashStore;
  /** Channels paid concurrently, one client each (default 4). */
  channels?: number;
  /** etcd slot lease TTL in seconds (default 1, the least the config accepts). */
  leaseTtlS?: number;
  /** Progress lines; silent by default. */
  log?: (line: string) => void;
}

export interface CrashLoopReport {
  store: CrashStore;
  kills: number;
  channels: number;
  /** Paid calls answered OK. */
  acknowledged: number;
  /** Killed calls whose payment was committed before the kill (stored whole; the client never heard). */
  storedBeforeKill: number;
  /** Channels that refused a correct next payment after restart + lease TTL (+ 5 s of slack). */
  stuckChannels: number;
  /** Amounts the store reports that the client cannot explain (lost: below what was acknowledged). */
  findings: Finding[];
  /** Cogs acknowledged to clients that the store does not hold. */
  lostCogs: bigint;
  /** Cogs held in the store that `snetd claim --all` did not move on-chain. */
  unclaimedCogs: bigint;
  /** Paid calls refused while the daemon was up (not by the kill), with their statuses. */
  refusedBeforeKill: string[];
  durationMs: number;
}

/** Slack over the lease TTL for a busy 2-core machine: etcd checks expiry about every 500 ms. */
const SLACK_MS = 5000;
/** How long a stuck channel is retried before the run gives up on it. */
const GIVE_UP_MS = 60_000;
/** A kill lands uniformly within this many ms of calls. */
const MAX_RUN_MS = 250;

/** Runs the loop on a world of its own and always tears it down. */
export async function runCrashLoop(o: CrashLoopOptions): Promise<CrashLoopReport> {
  const started = Date.now();
  const log = o.log ?? (() => {});
  const ttl = o.leaseTtlS ?? 1;
  await ensureBinary();
  const world = await startWorld();
  let etcd: EtcdCluster | undefined;
  const dir = mkdtempSync(join(tmpdir(), `snetd-crashloop-${o.store}-`));
  let daemon: DaemonProcess | undefined;
  try {
    if (o.store === "etcd") etcd = await startEtcd();
    const config = world.daemonConfig({
      daemon_endpoint: `127.0.0.1:${await freePort()}`,
      data_dir: join(dir, "data"),
      block_cache_ms: 0,
      log: { level: "warn" },
      ...(etcd
        ? {
            payment_channel_storage_type: "etcd",
            payment_channel_storage_client: { endpoints: etcd.endpoints },
            channel_lease_ttl_s: ttl,
          }
        : {}),
    });
    const accounts: Account[] = [];
    for (let i = 0; i < (o.channels ?? 4); i++)
      accounts.push(newAccount(await world.openFundedChannel({ value: 10n ** 15n })));
    const balanceBefore = await mpeBalance(world.deployment, PROVIDER.address);
    const report: CrashLoopReport = {
      store: o.store,
      kills: 0,
      channels: accounts.length,
      acknowledged: 0,
      storedBeforeKill: 0,
      stuckChannels: 0,
      findings: [],
      lostCogs: 0n,
      unclaimedCogs: 0n,
      refusedBeforeKill: [],
      durationMs: 0,
    };
    const start = () => startDaemon({ config, binary: true });
    daemon = await start();
    for (let kill = 1; kill <= o.kills; kill++) {
      const d: DaemonProcess = daemon;
      await killDuringCalls(world, d, accounts, report);
      const killedAt = Date.now();
      await d.stop();
      daemon = await start();
      for (const a of accounts) await settle(world, daemon, a, killedAt + ttl * 1000 + SLACK_MS, report);
      report.kills = kill;
      if (kill % 10 === 0 || kill === o.kills) {
        log(
          `crashloop ${o.store}: ${kill}/${o.kills} kills, ${sum(accounts, (a) => a.ok)} acknowledged, ${report.stuckChannels} stuck, ${report.findings.length} findings, ${Math.round((Date.now() - started) / 1000)} s`,
        );
      }
    }
    report.acknowledged = sum(accounts, (a) => a.ok);
    report.storedBeforeKill = sum(accounts, (a) => a.storedBeforeKill);
    report.lostCogs = report.findings.reduce((n, f) => n + (f.kind === "lost" ? f.expected - f.held : 0n), 0n);
    await daemon.stop();
    daemon = undefined;
    report.unclaimedCogs = await claimAll(world, config, dir, accounts, balanceBefore, log);
    report.durationMs = Date.now() - started;
    return report;
  } finally {
    await daemon?.stop();
    await etcd?.stop();
    await world.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const sum = (accounts: Account[], f: (a: Account) => number) => accounts.reduce((n, a) => n + f(a), 0);

/**
 * Every channel pays back to back (some calls Slow, so kills also land while the service works) until a
 * SIGKILL at a random moment; the payments in flight then are left for `settle` to read back.
 */
async function killDuringCalls(
  world: World,
  d: DaemonProcess,
  accounts: Account[],
  report: CrashLoopReport,
): Promise<void> {
  let killed = false;
  const loops = accounts.map(async (a) => {
    while (!killed) {
      const amount = a.expected + world.price;
      a.inFlight = amount;
      const slow = Math.random() < 0.25;
      const r = await paidCall(
        d.endpoint,
        slow ? "Slow" : "Echo",
        a.ch.pay(amount),
        1 + Math.floor(Math.random() * 40),
      );
      if (r.status.code !== grpc.status.OK) {
        if (!killed) report.refusedBeforeKill.push(`channel ${a.ch.id}: ${r.status.code} ${r.status.details}`);
        return;
      }
      a.inFlight = undefined;
      a.expected = amount;
      a.ok++;
    }
  });
  await Bun.sleep(Math.random() * MAX_RUN_MS);
  killed = true;
  await d.kill("SIGKILL");
  await Promise.all(loops);
}

/** After a restart: the stored amount is explained, and a correct next payment goes through by `deadline`. */
async function settle(
  world: World,
  d: DaemonProcess,
  a: Account,
  deadline: number,
  report: CrashLoopReport,
): Promise<void> {
  const finding = reconcile(a, (await channelState(world, d.endpoint, a.ch)).amount);
  if (finding) report.findings.push(finding);
  const next = await payNext(d.endpoint, a, world.price, deadline);
  if (next.ok) return;
  report.stuckChannels++;
  // Keep going so the run still measures the rest, unless the channel never comes back.
  const retried = await payNext(d.endpoint, a, world.price, Date.now() + GIVE_UP_MS);
  if (!retried.ok)
    throw new Error(
      `channel ${a.ch.id} refuses correct payments for good: ${retried.status.code} ${retried.status.details}`,
    );
}

/**
 * `snetd claim --all` with the provider's key on the stopped daemon's store; returns the cogs acknowledged
 * (as the store holds them) that did not reach the provider's escrow balance.
 */
async function claimAll(
  world: World,
  config: Record<string, unknown>,
  dir: string,
  accounts: Account[],
  before: bigint,
  log: (l: string) => void,
): Promise<bigint> {
  const file = join(dir, "claim.config.json");
  writeFileSync(file, JSON.stringify(config));
  const r = await runCli(["claim", "--all", "-y", "--json", "-c", file], {
    binary: true,
    env: { SNET_PRIVATE_KEY: PROVIDER.privateKey },
    timeoutMs: 300_000,
  });
  if (r.code !== 0) log(`crashloop: snetd claim exited ${r.code}: ${r.stderr.trim()}`);
  const claimed = (await mpeBalance(world.deployment, PROVIDER.address)) - before;
  const owed = accounts.reduce((n, a) => n + a.expected, 0n);
  return owed - claimed;
}

/** One line per figure, as the README's reliability section shows them. */
export function formatReport(r: CrashLoopReport): string {
  return [
    `store ${r.store}: ${r.kills} SIGKILLs in ${(r.durationMs / 60_000).toFixed(1)} min, ${r.channels} clients paying concurrently`,
    `  acknowledged paid calls: ${r.acknowledged}; killed calls stored before the kill: ${r.storedBeforeKill}`,
    `  stuck channels: ${r.stuckChannels}`,
    `  lost signed amounts: ${r.findings.filter((f) => f.kind === "lost").length} (${r.lostCogs} cogs); unexplained amounts: ${r.findings.filter((f) => f.kind === "unexplained").length}`,
    `  acknowledged cogs the treasurer could not claim: ${r.unclaimedCogs}`,
    `  paid calls refused while the daemon was up: ${r.refusedBeforeKill.length}`,
  ].join("\n");
}
