/**
 * What `serve`'s operations (app/operations.ts) put into the payment wiring of app/daemon-settings.ts:
 * instruments around the store and the slots, the per-payer and per-channel rate limits, the rule for
 * metadata that needs a restart, and an ear on auto-claim. All optional: tools build settings without.
 */
import type { ClaimOutcome } from "../claims/claimer.ts";
import type { PayerLimit } from "../payments/payer-limit.ts";
import type { ChannelSlots } from "../payments/slots.ts";
import type { Store } from "../store/contract.ts";
import type { ContextOptions } from "./payment-context.ts";

export interface PaymentHooks {
  wrapStore?: (store: Store) => Store;
  wrapSlots?: (slots: ChannelSlots) => ChannelSlots;
  limit?: PayerLimit;
  restartNeeded?: ContextOptions["restartNeeded"];
  /** Each outcome of an auto-claim round. */
  onClaim?: (outcome: ClaimOutcome) => void;
}

/** The context options these hooks set. */
export function contextHooks(h: PaymentHooks): Pick<ContextOptions, "wrapStore" | "restartNeeded"> {
  return {
    ...(h.wrapStore ? { wrapStore: h.wrapStore } : {}),
    ...(h.restartNeeded ? { restartNeeded: h.restartNeeded } : {}),
  };
}
