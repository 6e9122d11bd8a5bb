/** Auto-claim inside `serve` (`auto_claim.enabled`): claims channels before they expire, with the provider's key. */
import { createWalletClient, defineChain, http } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { startAutoClaim } from "../claims/auto-claim.ts";
import type { ClaimOutcome } from "../claims/claimer.ts";
import { localSource } from "../claims/sources.ts";
import type { Config } from "../config/schema.ts";
import type { Address } from "../core/signatures.ts";
import type { Logger } from "../ops/log.ts";
import type { Treasury } from "../payments/treasury.ts";
import { type PaymentContext, rpcUrlOf } from "./payment-context.ts";
import { providerKey } from "./provider-key.ts";

/** A wallet client that signs with the provider's key on the context's chain. */
export function providerWallet(ctx: PaymentContext, config: Config, key: `0x${string}`) {
  const rpcUrl = rpcUrlOf(config);
  const chain = defineChain({
    id: ctx.chainId,
    name: `chain ${ctx.chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
  return createWalletClient({ account: privateKeyToAccount(key), chain, transport: http(rpcUrl) });
}

/** Undefined when auto-claim is off. */
export function startAutoClaimFor(
  ctx: PaymentContext,
  config: Config,
  tr: Treasury,
  log: Logger,
  onOutcome?: (o: ClaimOutcome) => void,
): { stop(): Promise<void> } | undefined {
  if (!config.auto_claim.enabled) return undefined;
  const paymentAddress = ctx.group.paymentAddress.toLowerCase() as Address;
  const key = providerKey(
    { ...(config.private_key ? { configured: config.private_key } : {}) },
    paymentAddress,
    ctx.group.groupName,
  );
  const mpe = ctx.group.mpeAddress.toLowerCase() as Address;
  const autoClaim = startAutoClaim(
    {
      source: localSource(tr),
      publicClient: ctx.client,
      wallet: providerWallet(ctx, config, key.hex),
      mpe,
      batchSize: config.claim.batch_size,
    },
    {
      intervalMs: config.auto_claim.interval,
      expiringWithin: config.auto_claim.expiring_within_blocks
        ? config.auto_claim.expiring_within_blocks
        : ctx.group.expirationThreshold * 2n,
      ...(config.auto_claim.unclaimed_threshold_cogs !== undefined
        ? { minAmount: config.auto_claim.unclaimed_threshold_cogs }
        : {}),
      ...(onOutcome ? { onOutcome } : {}),
    },
    log,
  );
  log.info("auto-claim enabled", { interval_ms: config.auto_claim.interval });
  return autoClaim;
}
