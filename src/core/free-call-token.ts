/**
 * The free-call token of the v6 protocol (docs/protocol/signatures.md): `signature(65) ‖ "_" ‖
 * decimal(expiry block)`, signed by the group's free-call signer over the user, user id and expiry; and
 * the quota arithmetic shared by the daemon and `snetd freecall`. Pure.
 */
import { freeCallTokenBadExpiry, freeCallTokenBadSignature, freeCallTokenMissingSeparator } from "./messages/tokens.ts";
import { signDigest } from "./noble-recovery.ts";
import { concatBytes, parseDecimal } from "./numbers.ts";
import { type Address, freeCallTokenMessage, freeCallV5TokenMessage, personalDigest } from "./signatures.ts";

/** Longer or absent lifetimes asked for are cut to this many blocks (about 24 days at 12 s). */
export const MAX_TOKEN_LIFETIME_BLOCKS = 172_800n;
/** What GetFreeCallsAvailable reports for an unlimited quota. */
export const UNLIMITED_REPORTED = 99_999_999n;

/** Calls allowed to `address` (any case); undefined = unlimited. */
export function allowedCalls(
  perAddress: Readonly<Record<string, number>>,
  defaultQuota: bigint,
  address: string,
): bigint | undefined {
  const own = perAddress[address.toLowerCase()];
  if (own === undefined || own === 0) return defaultQuota;
  return own === -1 ? undefined : BigInt(own);
}

/** Calls left, as GetFreeCallsAvailable reports them. */
export function availableCalls(allowed: bigint | undefined, made: bigint): bigint {
  if (allowed === undefined) return UNLIMITED_REPORTED;
  return allowed > made ? allowed - made : 0n;
}

/** Token bytes on the wire. */
export function encodeFreeCallToken(signature: Uint8Array, expiryBlock: bigint): Uint8Array {
  return concatBytes(signature, new TextEncoder().encode(`_${expiryBlock}`));
}

/** Splits at the last `_` (the signature may contain 0x5f bytes, the decimal never does). */
export function parseFreeCallToken(token: Uint8Array): { signature: Uint8Array; expiryBlock: bigint } {
  const at = token.lastIndexOf(0x5f);
  if (at < 0) throw freeCallTokenMissingSeparator(token.length);
  const signature = token.subarray(0, at);
  const text = new TextDecoder().decode(token.subarray(at + 1));
  const expiryBlock = parseDecimal(text);
  if (expiryBlock === undefined) throw freeCallTokenBadExpiry(text);
  if (signature.length !== 65) throw freeCallTokenBadSignature(signature.length);
  return { signature, expiryBlock };
}

/** Signs a token for `user` with v = 27/28. */
export function signFreeCallToken(
  privateKey: Uint8Array,
  f: { orgId: string; groupName: string; user: Address; userId: string; expiryBlock: bigint },
): Uint8Array {
  const signature = signDigest(
    privateKey,
    personalDigest(freeCallTokenMessage(f.orgId, f.groupName, f.user, f.userId, f.expiryBlock)),
  );
  return encodeFreeCallToken(signature, f.expiryBlock);
}

/** A v5 token (the JavaScript SDKs' `tokenToMakeFreeCall`): 65 bytes over e-mail, caller and expiry. */
export function signFreeCallV5Token(
  privateKey: Uint8Array,
  f: { user: Address; userId: string; expiryBlock: bigint },
): Uint8Array {
  return signDigest(privateKey, personalDigest(freeCallV5TokenMessage(f.userId, f.user, f.expiryBlock)));
}
