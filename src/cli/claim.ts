/**
 * `snetd claim`: turns signed amounts into money on-chain, from cron or by hand. Exit codes for cron:
 * 0 everything selected was claimed, 4 nothing to claim, 5 partly claimed, 1 nothing could be claimed,
 * 2 bad usage or key, 3 chain or daemon unreachable.
 */
import { BaseError, HttpRequestError, TimeoutError } from "viem";
import { providerWallet } from "../app/auto-claim-setup.ts";
import { loggerFor } from "../app/logger.ts";
import { openStore } from "../app/open-store.ts";
import { paymentContext } from "../app/payment-context.ts";
import { providerKey } from "../app/provider-key.ts";
import { shortError } from "../chain/mpe.ts";
import { type ClaimOutcome, type ClaimReport, type ClaimSelection, runClaims } from "../claims/claimer.ts";
import { DaemonUnreachableError, localSource, remoteSource, somethingListens } from "../claims/sources.ts";
import { Code, SnetError } from "../core/errors.ts";
import { bytesToHex, parseDecimal } from "../core/numbers.ts";
import type { Address } from "../core/signatures.ts";
import { channelBook } from "../payments/channel-book.ts";
import { replicaSlots } from "../payments/leased-slots.ts";
import { localSlots } from "../payments/slots.ts";
import { treasury } from "../payments/treasury.ts";
import { CONFIG_OPTION, type Command } from "./command.ts";
import { type CliError, Exit, unreachable, usageError } from "./exit-codes.ts";
import { configFor } from "./load-config.ts";
import { table } from "./table.ts";

/** How long to wait for a connection to the daemon before concluding that none runs. */
const DAEMON_PROBE_MS = 3000;

export const ClaimExit = { CLAIMED: 0, NOTHING: 4, PARTIAL: 5, FAILED: 1 } as const;

export function exitFor(report: ClaimReport): number {
  const done = report.outcomes.filter((o) => o.status === "claimed" || o.status === "already-claimed").length;
  const failed = report.outcomes.filter((o) => o.status === "failed").length;
  if (done === 0 && failed === 0) return ClaimExit.NOTHING;
  if (failed === 0) return ClaimExit.CLAIMED;
  return done > 0 ? ClaimExit.PARTIAL : ClaimExit.FAILED;
}

const big = (text: string, flag: string) => {
  const v = parseDecimal(text);
  if (v === undefined) throw usageError(`${flag} "${text}" is not a non-negative decimal integer`);
  return v;
};

export const claimCommand: Command = {
  name: "claim",
  summary: "claim signed payments on-chain (run it from cron)",
  help: [
    "Usage: snetd claim [-c FILE] (--all | --channel-id N ... | --expiring-within BLOCKS) [options]",
    "",
    "  --all                      every channel with an unclaimed amount",
    "  --channel-id N             this channel (repeatable)",
    "  --expiring-within BLOCKS   channels that expire within BLOCKS blocks",
    "  --min-amount COGS          only channels with at least COGS unclaimed",
    "  --private-key-file FILE    key of the group's payment address (else private_key / SNET_PRIVATE_KEY)",
    "  --dry-run                  show what would be claimed, send nothing",
    "  --json                     machine-readable report on stdout",
    "  -y, --yes                  do not ask for confirmation",
    "",
    "Claims already started by an interrupted run (or snet-cli) are always completed first.",
    "Uses the running daemon's control service at daemon_endpoint; when no daemon answers, works on the",
    "store directly.",
    "Exit codes: 0 all claimed, 4 nothing to claim, 5 partly claimed, 1 failed, 2 bad usage or key, 3 unreachable.",
  ].join("\n"),
  options: {
    ...CONFIG_OPTION,
    all: { type: "boolean" },
    "channel-id": { type: "string", multiple: true },
    "expiring-within": { type: "string" },
    "min-amount": { type: "string" },
    "private-key-file": { type: "string" },
    "dry-run": { type: "boolean" },
    json: { type: "boolean" },
    yes: { type: "boolean", short: "y" },
  },
  async run(values) {
    const selection: ClaimSelection = {
      ...(values.all ? { all: true } : {}),
      ...(values["channel-id"]
        ? { channelIds: (values["channel-id"] as string[]).map((v) => big(v, "--channel-id")) }
        : {}),
      ...(typeof values["expiring-within"] === "string"
        ? { expiringWithin: big(values["expiring-within"], "--expiring-within") }
        : {}),
      ...(typeof values["min-amount"] === "string" ? { minAmount: big(values["min-amount"], "--min-amount") } : {}),
    };
    if (
      !selection.all &&
      !selection.channelIds?.length &&
      selection.expiringWithin === undefined &&
      selection.minAmount === undefined
    ) {
      // Still finish interrupted claims: selecting nothing new is allowed, but say so.
      if (!values.json)
        console.error(
          "no channel selected (--all, --channel-id, --expiring-within, --min-amount); finishing started claims only",
        );
    }
    const json = values.json === true;
    const say = (m: string) => {
      if (!json) console.error(m);
    };
    const config = configFor(values, say);
    const log = loggerFor({
      ...config,
      log: { ...config.log, output: { ...config.log.output, type: ["stderr"] }, level: json ? "error" : "warn" },
    });
    const ctx = await paymentContext(config, log, { store: "none" });
    try {
      const paymentAddress = ctx.group.paymentAddress.toLowerCase() as Address;
      const key = providerKey(
        {
          ...(typeof values["private-key-file"] === "string" ? { file: values["private-key-file"] } : {}),
          ...(config.private_key ? { configured: config.private_key } : {}),
        },
        paymentAddress,
        ctx.group.groupName,
      );
      const mpe = ctx.group.mpeAddress.toLowerCase() as Address;
      const wallet = providerWallet(ctx, config, key.hex);

      const remote = await remoteSource({
        endpoint: config.daemon_endpoint,
        tls: !!config.ssl_cert,
        mpe,
        privateKey: key.bytes,
        head: () => ctx.blocks.head(),
      });
      let source: Parameters<typeof runClaims>[0]["source"] = remote;
      let closeLocal = async () => {};
      // Only "nobody listens there" means no daemon runs: a daemon that answers stays the only writer of
      // its store, whatever it answers.
      if (await remote.ready(DAEMON_PROBE_MS)) {
        say(`using the daemon at ${config.daemon_endpoint}`);
      } else {
        remote.close();
        if (await somethingListens(config.daemon_endpoint, DAEMON_PROBE_MS)) {
          // Its gRPC did not come up (TLS trust, another program): writing its store behind its back could
          // race its paid calls, so stop here.
          throw unreachable(
            `something listens at daemon_endpoint "${config.daemon_endpoint}" but the daemon's control service does not answer there; check ssl_cert and that snetd serve is healthy`,
          );
        }
        const store = await openStore(config, ctx.group);
        say(`no daemon answers at ${config.daemon_endpoint}; claiming directly from the ${store.kind} store`);
        const lease = store.exclusive ? undefined : await store.grantLease(config.channel_lease_ttl_s);
        const book = channelBook({
          store,
          keys: ctx.keys,
          mpe: ctx.mpe,
          groupIdHex: bytesToHex(ctx.group.groupId) as `0x${string}`,
          paymentAddress,
        });
        source = localSource(
          treasury({
            store,
            keys: ctx.keys,
            book,
            slots: lease ? replicaSlots(store, lease, `claim-${process.pid}`, ctx.keys) : localSlots(),
          }),
        );
        closeLocal = async () => {
          await lease?.revoke().catch(() => {});
          await store.close();
        };
      }
      try {
        const deps = {
          source,
          publicClient: ctx.client,
          wallet,
          mpe,
          batchSize: config.claim.batch_size,
          progress: say,
        };
        if (!values["dry-run"] && !values.yes && !json && process.stdin.isTTY) {
          const plan = await runClaims({ ...deps, dryRun: true }, selection);
          print(plan, false);
          if (plan.outcomes.every((o) => o.status !== "planned") || !(await confirm("send these claims? [y/N] ")))
            return ClaimExit.NOTHING;
        }
        const report = await runClaims({ ...deps, ...(values["dry-run"] ? { dryRun: true } : {}) }, selection);
        print(report, json);
        return values["dry-run"] ? Exit.OK : exitFor(report);
      } catch (err) {
        throw asUnreachable(err) ?? err;
      } finally {
        remote.close();
        await closeLocal();
      }
    } finally {
      await ctx.close();
    }
  },
};

/** Exit 3 for "try again later" failures: the daemon or the chain stopped answering mid-run. */
function asUnreachable(err: unknown): CliError | undefined {
  if (err instanceof DaemonUnreachableError) return unreachable(err.message, err);
  if (err instanceof BaseError && err.walk((e) => e instanceof HttpRequestError || e instanceof TimeoutError)) {
    return unreachable(`the Ethereum node stopped answering: ${shortError(err)}; run snetd claim again later`, err);
  }
  if (err instanceof SnetError && err.code === Code.UNAVAILABLE) return unreachable(err.message, err);
  return undefined;
}

async function confirm(question: string): Promise<boolean> {
  const { createInterface } = await import("node:readline/promises");
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

function print(report: ClaimReport, json: boolean) {
  if (json) {
    console.log(
      JSON.stringify({
        claimed_amount: report.claimedAmount.toString(),
        outcomes: report.outcomes.map((o: ClaimOutcome) => ({
          channel_id: o.channelId.toString(),
          nonce: o.nonce.toString(),
          amount: o.amount.toString(),
          status: o.status,
          ...(o.tx ? { tx: o.tx } : {}),
          ...(o.reason ? { reason: o.reason } : {}),
        })),
      }),
    );
    return;
  }
  if (report.outcomes.length === 0) {
    console.log("nothing to claim");
    return;
  }
  console.log(
    table(
      ["channel", "nonce", "amount (cogs)", "status", "transaction / reason"],
      report.outcomes.map((o) => [
        o.channelId.toString(),
        o.nonce.toString(),
        o.amount.toString(),
        o.status,
        o.tx ?? o.reason ?? "",
      ]),
    ),
  );
  console.log(`claimed ${report.claimedAmount} cogs`);
}
