/**
 * Escrow payment validation (protocol/payments.md#escrow-order steps 6–10), pure and in the reference's
 * order so clients see the same error first. The caller supplies the recovered signer and the head block.
 */
import type { ChannelState } from "./channel.ts";
import type { SnetError } from "./errors.ts";
import {
  channelNearExpiry,
  incomeNotPrice,
  incorrectNonce,
  invalidPaymentSignature,
  notEnoughTokens,
  notSignedBySigner,
} from "./messages/payments.ts";
import type { EscrowPayment } from "./payment-headers.ts";
import type { Address } from "./signatures.ts";

export interface EscrowCheck {
  channel: ChannelState;
  payment: EscrowPayment;
  /** Recovered from the claim message; undefined when recovery failed. */
  signer: Address | undefined;
  head: bigint;
  expirationThreshold: bigint;
  /** The price of this call; undefined skips the price check (prepaid token requests). */
  price: bigint | undefined;
}

/** Why a payment failed, so the caller can tell "maybe the chain knows more" from "definitely wrong". */
export type EscrowFailure = "nonce" | "signer" | "expired" | "funds" | "price";

/** The first rule a payment breaks, with its catalogue error; undefined when the payment is valid. */
export function checkEscrow(c: EscrowCheck): { failure: EscrowFailure; error: SnetError } | undefined {
  const { channel, payment } = c;
  if (payment.nonce !== channel.nonce) {
    return {
      failure: "nonce",
      error: incorrectNonce(channel.nonce, payment.nonce),
    };
  }
  if (c.signer === undefined) return { failure: "signer", error: invalidPaymentSignature() };
  if (c.signer !== channel.signer && c.signer !== channel.sender) {
    return { failure: "signer", error: notSignedBySigner() };
  }
  // Strict, as the reference (protocol/payments.md#expiry-threshold).
  if (!(c.head + c.expirationThreshold < channel.expiration)) {
    return {
      failure: "expired",
      error: channelNearExpiry(channel.expiration, c.head, c.expirationThreshold),
    };
  }
  if (payment.amount > channel.fullAmount) {
    return {
      failure: "funds",
      error: notEnoughTokens(channel.fullAmount, payment.amount),
    };
  }
  if (c.price !== undefined) {
    const income = payment.amount - channel.authorisedAmount;
    if (income !== c.price) return { failure: "price", error: incomeNotPrice(income, c.price) };
  }
  return undefined;
}

/** Failures that a fresher chain view could turn into success: nonce moved on, top-up, extension. */
export const chainMayKnowBetter = (f: EscrowFailure, sentNonce: bigint, storedNonce: bigint) =>
  (f === "nonce" && sentNonce > storedNonce) || f === "funds" || f === "expired";
