/**
 * `snetd freecall list|reset`: free-call usage per address (and user id) for operators, read from and
 * written to the payment store. Quotas are computed as the daemon does (free_calls_per_address, else the
 * group's metadata free_calls).
 */
import { connect } from "node:net";
import { loggerFor } from "../app/logger.ts";
import { sqlitePath } from "../app/open-store.ts";
import { paymentContext } from "../app/payment-context.ts";
import type { Config } from "../config/schema.ts";
import { parseHostPort } from "../config/schema.ts";
import { allowedCalls, availableCalls } from "../core/free-call-token.ts";
import { type Address, checksumAddress, isAddress } from "../core/signatures.ts";
import { type FreeCallUsageDeps, listUsage, resetUsage } from "../payments/free-call-usage.ts";
import type { FreeCallUsage } from "../store/prepaid-records.ts";
import { CONFIG_OPTION, type Command } from "./command.ts";
import { CliError, Exit, usageError } from "./exit-codes.ts";
import { issueFreeCallToken } from "./freecall-issue.ts";
import { configFor } from "./load-config.ts";
import { table } from "./table.ts";

/** True when something accepts connections on daemon_endpoint. */
function daemonListening(config: Config): Promise<boolean> {
  const hp = parseHostPort(config.daemon_endpoint);
  if (!hp) return Promise.resolve(false);
  const host = hp.host === "" || hp.host === "0.0.0.0" || hp.host === "::" ? "127.0.0.1" : hp.host;
  return new Promise((resolve) => {
    const socket = connect({ host, port: hp.port });
    const done = (up: boolean) => {
      socket.destroy();
      resolve(up);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

export const freecallCommand: Command = {
  name: "freecall",
  summary: "show, reset or issue free calls (freecall list | reset --address A | issue --address A --user-id E)",
  help: [
    "Usage: snetd freecall list [--address A] [--user-id U] [-c FILE] [--json]",
    "       snetd freecall reset --address A [--user-id U] [-c FILE] [--json]",
    "       snetd freecall issue --address A --user-id EMAIL [--expiry-blocks N] [-c FILE] [--json]",
    "",
    "  list         calls made, allowed and left per address (and user id) for this service",
    "  reset        forget the calls made by an address, so its quota starts again",
    "  issue        a free-call token for a JavaScript SDK user (v5 protocol), signed with",
    "               private_key_for_free_calls, valid for N blocks (default 172800)",
    "  --address A  the caller's address, any case (usage is counted per address, not per spelling)",
    "  --user-id U  only this user id (trusted signers call for users); default: every user id of A",
    '  --json       machine-readable output (numbers as decimal strings, allowed "unlimited" when -1)',
    "",
    "With payment_channel_storage_type sqlite, reset needs the daemon stopped: the SQLite file has one",
    "writer. With etcd it works next to running daemons.",
  ].join("\n"),
  options: {
    ...CONFIG_OPTION,
    address: { type: "string" },
    "user-id": { type: "string" },
    "expiry-blocks": { type: "string" },
    json: { type: "boolean" },
  },
  positionals: true,
  async run(values, positionals) {
    const what = positionals[0];
    if (what === "issue") return issueFreeCallToken(values);
    if (what !== "list" && what !== "reset")
      throw usageError(`expected "snetd freecall list", "reset" or "issue", got "${what ?? ""}"`);
    const addressText = typeof values.address === "string" ? values.address : undefined;
    if (addressText !== undefined && !isAddress(addressText))
      throw usageError(`--address "${addressText}" is not an address, expected 0x followed by 40 hex digits`);
    if (what === "reset" && addressText === undefined) throw usageError("snetd freecall reset needs --address");
    const address = addressText?.toLowerCase() as Address | undefined;
    const userId = typeof values["user-id"] === "string" ? values["user-id"] : undefined;
    const json = values.json === true;

    const config = configFor(values, (w) => console.error(w));
    const storage = config.payment_channel_storage_type;
    if (storage === "memory")
      throw usageError("payment_channel_storage_type is memory: free-call usage lives only inside the running daemon");
    if (what === "reset" && storage === "sqlite" && (await daemonListening(config))) {
      throw new CliError(
        Exit.FAILURE,
        `a daemon is running at daemon_endpoint "${config.daemon_endpoint}" and owns the SQLite store "${sqlitePath(config)}"; stop it, run the reset, then start it again`,
      );
    }
    const log = loggerFor({
      ...config,
      log: { ...config.log, output: { ...config.log.output, type: ["stderr"] }, level: "error" },
    });
    const readOnly = what === "list" && storage === "sqlite";
    const ctx = await paymentContext(config, log, { store: readOnly ? "read-only" : "read-write" });
    try {
      const usage: FreeCallUsageDeps = { store: ctx.store, keys: ctx.keys, serviceId: config.service_id };
      const rows = await listUsage(usage, address, userId);
      const perAddress = config.free_calls_per_address;
      const defaultQuota = ctx.group.freeCalls;
      const describe = (u: FreeCallUsage) => {
        const allowed = allowedCalls(perAddress, defaultQuota, u.address);
        return {
          address: checksumAddress(u.address),
          userId: u.userId,
          made: u.made,
          allowed,
          left: availableCalls(allowed, u.made),
        };
      };
      if (what === "list") {
        const list = rows.map((r) => describe(r.usage));
        if (json) {
          console.log(
            JSON.stringify({
              service_id: config.service_id,
              free_calls: list.map((l) => ({
                address: l.address,
                user_id: l.userId,
                calls_made: l.made.toString(),
                allowed: l.allowed === undefined ? "unlimited" : l.allowed.toString(),
                remaining: l.allowed === undefined ? "unlimited" : l.left.toString(),
              })),
            }),
          );
          return Exit.OK;
        }
        if (list.length === 0) {
          console.log("no free calls made yet");
          return Exit.OK;
        }
        console.log(
          table(
            ["address", "user id", "calls made", "allowed", "left"],
            list.map((l) => [
              l.address,
              l.userId,
              l.made.toString(),
              l.allowed === undefined ? "unlimited" : l.allowed.toString(),
              l.allowed === undefined ? "unlimited" : l.left.toString(),
            ]),
          ),
        );
        return Exit.OK;
      }

      const reset: FreeCallUsage[] = [];
      for (const r of rows) {
        if (r.version === 0n) continue;
        // Compare on version: a call counted meanwhile (etcd, daemon running) makes the reset retry-safe to rerun.
        if (!(await resetUsage(usage, r)))
          throw new CliError(
            Exit.FAILURE,
            `the usage of ${checksumAddress(r.usage.address)} user id "${r.usage.userId}" changed during the reset; run it again`,
          );
        reset.push(r.usage);
      }
      if (json) {
        console.log(
          JSON.stringify({
            reset: reset.map((u) => ({
              address: checksumAddress(u.address),
              user_id: u.userId,
              calls_made_before: u.made.toString(),
            })),
          }),
        );
      } else if (reset.length === 0) {
        console.log(
          `nothing to reset: ${checksumAddress(address as Address)} has made no free calls${userId !== undefined ? ` as user id "${userId}"` : ""}`,
        );
      } else {
        for (const u of reset)
          console.log(
            `reset ${checksumAddress(u.address)}${u.userId ? ` user id "${u.userId}"` : ""}: ${u.made} call(s) made before`,
          );
      }
      return Exit.OK;
    } finally {
      await ctx.close();
    }
  },
};
