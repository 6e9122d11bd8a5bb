/**
 * The per-payer and per-channel rate limits as the payment admissions see them: a hook called once the
 * payment is verified (so a forged header cannot spend someone else's bucket) and before anything is
 * reserved or forwarded. It throws the refusal (RESOURCE_EXHAUSTED with a retry hint) or returns.
 */
import type { Address } from "../core/signatures.ts";

/** Takes one token from the payer's bucket and, when given, the channel's; throws when either is empty. */
export type PayerLimit = (keys: { payer: Address; channel?: bigint }) => void;
