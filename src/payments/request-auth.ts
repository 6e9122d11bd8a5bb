/**
 * Authentication of the daemon's own block-stamped requests (channel state, tokens, free calls, claims):
 * the signer is recovered from an EIP-191 signature, and the stamped block must be within a few blocks
 * of the head so that a captured request cannot be replayed later (docs/protocol/signatures.md).
 */
import type { BlockSource } from "../chain/mpe.ts";
import { incorrectSignature, signatureExpired } from "../core/messages/payments.ts";
import { type Address, parseSignature, personalDigest, type SignerRecovery } from "../core/signatures.ts";

/** Blocks a request's `current_block` may differ from the head. */
export const BLOCK_WINDOW = 5n;

/** Refuses a request stamped more than `window` blocks away from the head. */
export async function requireFreshBlock(
  blocks: BlockSource,
  currentBlock: bigint,
  window = BLOCK_WINDOW,
): Promise<void> {
  let head = await blocks.head();
  // A client ahead of the cached head by more than the window means the cache lags the chain (fast
  // blocks, anvil automine), not that the client is wrong: ask the chain once before refusing.
  if (currentBlock > head + window && blocks.latest) head = await blocks.latest();
  const diff = currentBlock > head ? currentBlock - head : head - currentBlock;
  if (diff > window) throw signatureExpired();
}

/** Recovers the signer of a daemon request; malformed → INVALID_ARGUMENT, unrecoverable → UNAUTHENTICATED. */
export function requestSigner(recovery: SignerRecovery, message: Uint8Array, signature: Uint8Array): Address {
  const parsed = parseSignature(signature);
  const signer = recovery.recover(personalDigest(message), parsed);
  if (!signer) throw incorrectSignature();
  return signer;
}
