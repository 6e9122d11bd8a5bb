/** Prepaid calls from the payment context: the group's token secret and the token issuer. */

import { prepaidTokens } from "../core/prepaid-token.ts";
import type { Address, SignerRecovery } from "../core/signatures.ts";
import type { PayerLimit } from "../payments/payer-limit.ts";
import type { PrepaidDeps } from "../payments/prepaid.ts";
import type { ChannelSlots } from "../payments/slots.ts";
import { tokenSecret } from "../payments/token-secret.ts";
import type { PaymentContext } from "./payment-context.ts";

export interface PrepaidSetup {
  deps: PrepaidDeps;
  secretSource: "configured" | "stored" | "generated";
}

export async function prepaidSetup(
  ctx: PaymentContext,
  x: {
    mpe: Address;
    slots: ChannelSlots;
    recovery: SignerRecovery;
    price(path: string): bigint;
    allowedSigners?: ReadonlySet<Address>;
    limit?: PayerLimit;
  },
): Promise<PrepaidSetup> {
  const { secret, source } = await tokenSecret(
    ctx.store,
    ctx.keys.secret("prepaid-token"),
    ctx.config.token_secret_key,
  );
  const tokens = prepaidTokens({
    secret,
    orgId: ctx.group.orgId,
    groupIdBase64: ctx.group.groupIdBase64,
    lifetimeMinutes: ctx.config.token_expiry_in_minutes,
  });
  return {
    deps: {
      ...x,
      store: ctx.store,
      keys: ctx.keys,
      book: ctx.book,
      blocks: ctx.blocks,
      // Read on every token request: live metadata may change it.
      get expirationThreshold() {
        return ctx.group.expirationThreshold;
      },
      tokens,
    },
    secretSource: source,
  };
}
