/**
 * Every signed message of the SingularityNET protocol, byte for byte (protocol/signatures.md).
 *
 * Pure: packers return the exact bytes clients sign; `personalDigest` applies EIP-191 to keccak256 of
 * them; recovery of the signer is delegated to a `SignerRecovery` so the hot path can use a native
 * libsecp256k1 while tests and other runtimes use @noble/curves.
 */
import { keccak_256 } from "@noble/hashes/sha3.js";
import { incorrectSignatureData, incorrectSignatureLength, notAnAddress } from "./messages/requests.ts";
import { bigintToBytes, bytesToHex, concatBytes, hexToBytes } from "./numbers.ts";

/** Lower-case `0x` + 40 hex digits; the canonical form for comparing addresses. */
export type Address = `0x${string}`;

const encoder = new TextEncoder();
const text = (s: string) => encoder.encode(s);
const u256 = (x: bigint) => bigintToBytes(x, 32);

/** The MPE address is packed into every payment message; remember the last few parsed. */
const parsedAddresses = new Map<string, Uint8Array>();

/** An address given in any case, as 20 raw bytes. */
export function addressBytes(address: string): Uint8Array {
  const known = parsedAddresses.get(address);
  if (known) return known;
  if (!/^0x[0-9a-fA-F]{40}$/.test(address)) throw notAnAddress(address);
  const bytes = hexToBytes(address);
  if (parsedAddresses.size < 64) parsedAddresses.set(address, bytes);
  return bytes;
}

/** An address in any case, lower-cased after checking its form. */
export function normalizeAddress(address: string): Address {
  addressBytes(address);
  return address.toLowerCase() as Address;
}

/** Whether `address` is 0x + 40 hex digits, in any case. */
export function isAddress(address: string): boolean {
  return /^0x[0-9a-fA-F]{40}$/.test(address);
}

/** 3.1 Escrow payment: `"__MPE_claim_message" ‖ mpe ‖ u256(channel) ‖ u256(nonce) ‖ u256(amount)`. */
export function claimMessage(mpe: string, channelId: bigint, nonce: bigint, amount: bigint): Uint8Array {
  return concatBytes(text("__MPE_claim_message"), addressBytes(mpe), u256(channelId), u256(nonce), u256(amount));
}

/** 3.2 GetChannelState. */
export function channelStateMessage(mpe: string, channelId: bigint, currentBlock: bigint): Uint8Array {
  return concatBytes(text("__get_channel_state"), addressBytes(mpe), u256(channelId), u256(currentBlock));
}

/** 3.3 GetListUnclaimed. */
export function listUnclaimedMessage(mpe: string, currentBlock: bigint): Uint8Array {
  return concatBytes(text("__list_unclaimed"), addressBytes(mpe), u256(currentBlock));
}

/** 3.4 GetListInProgress. */
export function listInProgressMessage(mpe: string, currentBlock: bigint): Uint8Array {
  return concatBytes(text("__list_in_progress"), addressBytes(mpe), u256(currentBlock));
}

/** 3.5 StartClaim, over the daemon's current nonce of the channel. */
export function startClaimMessage(mpe: string, channelId: bigint, daemonNonce: bigint): Uint8Array {
  return concatBytes(text("__start_claim"), addressBytes(mpe), u256(channelId), u256(daemonNonce));
}

/** 3.5b StartClaimForMultipleChannels: ids packed sorted ascending, duplicates kept. */
export function multiClaimMessage(mpe: string, channelIds: readonly bigint[], currentBlock: bigint): Uint8Array {
  const sorted = [...channelIds].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return concatBytes(
    text("__StartClaimForMultipleChannels_"),
    addressBytes(mpe),
    ...sorted.map(u256),
    u256(currentBlock),
  );
}

export interface FreeCallRequestFields {
  /** The address text exactly as the client sent it (its case changes the bytes). */
  addressText: string;
  /** Empty when absent. */
  userId: string;
  orgId: string;
  serviceId: string;
  /** The org metadata `group_id`, base64 text as is. */
  groupIdBase64: string;
  currentBlock: bigint;
}

/** 3.6 Free-call token request. */
export function freeCallTokenRequestMessage(f: FreeCallRequestFields): Uint8Array {
  return concatBytes(
    text("__prefix_free_trial"),
    text(f.addressText),
    text(f.userId),
    text(f.orgId),
    text(f.serviceId),
    text(f.groupIdBase64),
    u256(f.currentBlock),
  );
}

/** 3.7 Free-call token, signed by the daemon's free-call key. */
export function freeCallTokenMessage(
  orgId: string,
  groupName: string,
  user: string,
  userId: string,
  expiryBlock: bigint,
): Uint8Array {
  return concatBytes(text(orgId), text(groupName), addressBytes(user), text(userId), u256(expiryBlock));
}

/** v5 free call (JavaScript SDKs): who makes the call, over their e-mail, the service and the marketplace token. */
export function freeCallV5InvocationMessage(
  f: Omit<FreeCallRequestFields, "addressText">,
  token: Uint8Array,
): Uint8Array {
  return concatBytes(
    text("__prefix_free_trial"),
    text(f.userId),
    text(f.orgId),
    text(f.serviceId),
    text(f.groupIdBase64),
    u256(f.currentBlock),
    token,
  );
}

/** v5 free-call token: the free-call signer vouches for `user` calling as `userId` until `expiryBlock`. */
export function freeCallV5TokenMessage(userId: string, user: string, expiryBlock: bigint): Uint8Array {
  return concatBytes(text(userId), addressBytes(user), u256(expiryBlock));
}

/** 3.8 Free call and GetFreeCallsAvailable: the 3.6 message followed by the whole token. */
export function freeCallInvocationMessage(f: FreeCallRequestFields, token: Uint8Array): Uint8Array {
  return concatBytes(freeCallTokenRequestMessage(f), token);
}

/** 3.9 Prepaid GetToken outer signature: `claim_signature(65) ‖ u256(current_block)`. */
export function prepaidTokenRequestMessage(claimSignature: Uint8Array, currentBlock: bigint): Uint8Array {
  return concatBytes(claimSignature, u256(currentBlock));
}

/** 3.10 Training authorisation. */
export function trainingAuthMessage(messageText: string, signerAddress: string, currentBlock: bigint): Uint8Array {
  return concatBytes(text(messageText), addressBytes(signerAddress), u256(currentBlock));
}

/** 3.11 Configuration service authorisation. */
export function configurationAuthMessage(prefix: string, currentBlock: bigint): Uint8Array {
  return concatBytes(text(prefix), u256(currentBlock));
}

const EIP191_PREFIX = text("\x19Ethereum Signed Message:\n32");

/** `keccak256(0x19 "Ethereum Signed Message:\n32" ‖ keccak256(message))` — what is actually signed. */
export function personalDigest(message: Uint8Array): Uint8Array {
  return keccak_256(concatBytes(EIP191_PREFIX, keccak_256(message)));
}

/** Ethereum's keccak-256 (not SHA3-256). */
export function keccak256(data: Uint8Array): Uint8Array {
  return keccak_256(data);
}

/** A 65-byte `r ‖ s ‖ v` signature split for recovery; v is normalised with `v mod 27`. */
export interface ParsedSignature {
  /** r ‖ s */
  compact: Uint8Array;
  /** 0 or 1 */
  recovery: 0 | 1;
}

/** Checks length and v (0, 1, 27, 28 accepted) with the catalogue's messages. */
export function parseSignature(signature: Uint8Array): ParsedSignature {
  if (signature.length !== 65) throw incorrectSignatureLength();
  const v = (signature[64] as number) % 27;
  if (v !== 0 && v !== 1) throw incorrectSignatureData();
  return { compact: signature.subarray(0, 64), recovery: v };
}

/** Recovers the address that produced a signature over a 32-byte digest; undefined when none can. */
export interface SignerRecovery {
  readonly name: string;
  recover(digest: Uint8Array, signature: ParsedSignature): Address | undefined;
}

/** Ethereum address of an uncompressed public key (65 bytes, 0x04 ‖ x ‖ y). */
export function publicKeyToAddress(uncompressed: Uint8Array): Address {
  return bytesToHex(keccak_256(uncompressed.subarray(1)).subarray(12)) as Address;
}

/** Addresses repeat (payers, the payment address); their checksummed form is remembered, boundedly. */
const checksummed = new Map<string, string>();

/** EIP-55 mixed-case spelling of an address, as clients and operators expect to read it. */
export function checksumAddress(address: string): string {
  let out = checksummed.get(address);
  if (out !== undefined) return out;
  const hex = normalizeAddress(address).slice(2);
  const hash = keccak_256(text(hex));
  out = "0x";
  for (let i = 0; i < 40; i++) {
    const nibble = ((hash[i >> 1] as number) >> (i % 2 === 0 ? 4 : 0)) & 0xf;
    out += nibble >= 8 ? (hex[i] as string).toUpperCase() : hex[i];
  }
  if (checksummed.size >= 100_000) checksummed.clear();
  checksummed.set(address, out);
  return out;
}

/**
 * Recovers the signer of `message` (EIP-191 over its keccak) and returns it lower-case.
 * Throws INVALID_ARGUMENT for malformed signatures; returns undefined when recovery fails.
 */
export function recoverSigner(
  recovery: SignerRecovery,
  message: Uint8Array,
  signature: Uint8Array,
): Address | undefined {
  return recovery.recover(personalDigest(message), parseSignature(signature));
}

/** Signature with v forced to 27/28, the only form the MPE contract accepts. */
export function withV27(signature: Uint8Array): Uint8Array {
  const out = Uint8Array.from(signature);
  out[64] = ((signature[64] as number) % 27) + 27;
  return out;
}
