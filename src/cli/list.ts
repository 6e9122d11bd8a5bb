/** `snetd list channels|claims`: what the store holds, as a table or JSON. Reads only. */

import { loggerFor } from "../app/logger.ts";
import { paymentContext } from "../app/payment-context.ts";
import { checksumAddress } from "../core/signatures.ts";
import { decodeChannel, decodeClaim } from "../store/records.ts";
import { CONFIG_OPTION, type Command } from "./command.ts";
import { usageError } from "./exit-codes.ts";
import { configFor } from "./load-config.ts";
import { table } from "./table.ts";

/** Mainnet's ~12 s per block; only for the "approximately" column. */
const SECONDS_PER_BLOCK = 12n;

function approx(blocks: bigint): string {
  if (blocks <= 0n) return "expired";
  const s = blocks * SECONDS_PER_BLOCK;
  if (s < 3600n) return `~${s / 60n} min`;
  if (s < 172800n) return `~${s / 3600n} h`;
  return `~${s / 86400n} d`;
}

export const listCommand: Command = {
  name: "list",
  summary: "list channels or claims in progress (list channels | list claims)",
  help: [
    "Usage: snetd list channels|claims [-c FILE] [--json]",
    "",
    "  channels   every channel the daemon holds: sender, nonce, unclaimed and full amount, expiry",
    "  claims     payments whose claim was started and is not yet seen on-chain",
    "  --json     machine-readable output (amounts as decimal strings)",
  ].join("\n"),
  options: { ...CONFIG_OPTION, json: { type: "boolean" } },
  positionals: true,
  async run(values, positionals) {
    const what = positionals[0];
    if (what !== "channels" && what !== "claims")
      throw usageError(`expected "snetd list channels" or "snetd list claims", got "${what ?? ""}"`);
    const json = values.json === true;
    const config = configFor(values, (w) => console.error(w));
    const log = loggerFor({
      ...config,
      log: { ...config.log, output: { ...config.log.output, type: ["stderr"] }, level: "error" },
    });
    const ctx = await paymentContext(config, log, {
      store: config.payment_channel_storage_type === "sqlite" ? "read-only" : "read-write",
    });
    try {
      const head = await ctx.blocks.head();
      if (what === "channels") {
        const channels = (await ctx.store.list(ctx.keys.channels)).map((e) => decodeChannel(e.value));
        if (json) {
          console.log(
            JSON.stringify({
              head_block: head.toString(),
              channels: channels.map((c) => ({
                channel_id: c.channelId.toString(),
                sender: checksumAddress(c.sender),
                signer: checksumAddress(c.signer),
                nonce: c.nonce.toString(),
                authorised_amount: c.authorisedAmount.toString(),
                full_amount: c.fullAmount.toString(),
                expiration: c.expiration.toString(),
                expires_in_blocks: (c.expiration - head).toString(),
              })),
            }),
          );
          return 0;
        }
        if (channels.length === 0) {
          console.log("no channels yet");
          return 0;
        }
        console.log(
          table(
            ["channel", "sender", "nonce", "unclaimed", "full amount", "expires in", "≈"],
            channels.map((c) => [
              c.channelId.toString(),
              checksumAddress(c.sender),
              c.nonce.toString(),
              c.authorisedAmount.toString(),
              c.fullAmount.toString(),
              `${c.expiration - head} blocks`,
              approx(c.expiration - head),
            ]),
          ),
        );
        return 0;
      }
      const claims = (await ctx.store.list(ctx.keys.claims)).map((e) => decodeClaim(e.value));
      if (json) {
        console.log(
          JSON.stringify({
            claims: claims.map((p) => ({
              channel_id: p.channelId.toString(),
              nonce: p.nonce.toString(),
              amount: p.amount.toString(),
            })),
          }),
        );
        return 0;
      }
      if (claims.length === 0) {
        console.log("no claims in progress");
        return 0;
      }
      console.log(
        table(
          ["channel", "nonce", "amount"],
          claims.map((p) => [p.channelId.toString(), p.nonce.toString(), p.amount.toString()]),
        ),
      );
      return 0;
    } finally {
      await ctx.close();
    }
  },
};
