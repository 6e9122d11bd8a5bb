/**
 * Free calls from the configuration and the group metadata: on only when `private_key_for_free_calls`
 * belongs to the group's `free_call_signer_address`; otherwise off, with the reason logged.
 */
import { shortError } from "../chain/mpe.ts";
import { tokenBalances, tokenDecimals } from "../chain/token-balance.ts";
import { addressOfPrivateKey } from "../core/noble-recovery.ts";
import { hexToBytes } from "../core/numbers.ts";
import { type Address, checksumAddress, type SignerRecovery } from "../core/signatures.ts";
import type { Logger } from "../ops/log.ts";
import type { FreeCallDeps } from "../payments/free-calls.ts";
import type { PayerLimit } from "../payments/payer-limit.ts";
import type { PaymentContext } from "./payment-context.ts";

function freeCallSigner(ctx: PaymentContext): FreeCallDeps["signer"] {
  const { config, group } = ctx;
  const configured = config.private_key_for_free_calls;
  const expected = group.freeCallSignerAddress?.toLowerCase() as Address | undefined;
  if (!expected) return { off: `group "${group.groupName}" has no free_call_signer_address in the service metadata` };
  if (!configured) return { off: "private_key_for_free_calls is not set" };
  const privateKey = hexToBytes(configured);
  const address = addressOfPrivateKey(privateKey);
  if (address !== expected) {
    return {
      off: `private_key_for_free_calls belongs to ${checksumAddress(address)}, the group's free_call_signer_address is ${checksumAddress(expected)}`,
    };
  }
  return { privateKey, address };
}

type SetupExtras = { recovery: SignerRecovery; log: Logger; allowedSigners?: ReadonlySet<Address>; limit?: PayerLimit };

/**
 * The free-call dependencies, rebuilt in place when live metadata changes the group (signer, quota), so
 * the gate and the services that hold this object see the new values from the next call on.
 */
export async function freeCallSetup(ctx: PaymentContext, x: SetupExtras): Promise<FreeCallDeps> {
  const deps = await buildFreeCalls(ctx, x);
  ctx.metadata.onChange(() => {
    buildFreeCalls(ctx, x).then(
      (next) => Object.assign(deps, next),
      (err) => x.log.error("free calls not updated to the new metadata", { error: (err as Error).message }),
    );
  });
  return deps;
}

async function buildFreeCalls(ctx: PaymentContext, x: SetupExtras): Promise<FreeCallDeps> {
  const { config, group } = ctx;
  const signer = freeCallSigner(ctx);
  const minWhole = config.min_balance_for_free_call ?? 0n;
  let minBalance = 0n;
  let balanceOf: FreeCallDeps["balanceOf"];
  if ("privateKey" in signer && minWhole > 0n) {
    const token = async () => (config.token_address?.toLowerCase() as Address | undefined) ?? ctx.mpe.token();
    balanceOf = tokenBalances(ctx.client, token);
    let decimals = 18;
    try {
      decimals = await tokenDecimals(ctx.client, await token());
    } catch (err) {
      x.log.warn("cannot read the token's decimals, assuming 18 for min_balance_for_free_call", {
        error: shortError(err),
      });
    }
    minBalance = minWhole * 10n ** BigInt(decimals);
  }
  if ("off" in signer) {
    if (group.freeCallSignerAddress || config.private_key_for_free_calls)
      x.log.warn("free calls are off", { reason: signer.off });
  } else {
    x.log.info("free calls enabled", {
      signer: checksumAddress(signer.address),
      free_calls: group.freeCalls.toString(),
      min_balance: minWhole.toString(),
    });
  }
  return {
    store: ctx.store,
    keys: ctx.keys,
    blocks: ctx.blocks,
    recovery: x.recovery,
    orgId: group.orgId,
    serviceId: config.service_id,
    groupName: group.groupName,
    groupIdBase64: group.groupIdBase64,
    signer,
    trustedSigners: new Set(config.trusted_free_call_signers.map((a) => a.toLowerCase() as Address)),
    defaultQuota: group.freeCalls,
    perAddress: config.free_calls_per_address,
    minBalance,
    minBalanceText: minWhole.toString(),
    ...(balanceOf ? { balanceOf } : {}),
    ...(x.allowedSigners ? { allowedSigners: x.allowedSigners } : {}),
    ...(x.limit ? { limit: x.limit } : {}),
  };
}
