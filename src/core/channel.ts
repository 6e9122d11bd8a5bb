/**
 * The payment channel as the daemon tracks it (protocol/payments.md#stored-channel),
 * and the rule that merges the stored record with the chain's. Pure.
 */
import type { Address } from "./signatures.ts";

/** `channels(id)` on the MPE contract. */
export interface ChainChannel {
  nonce: bigint;
  sender: Address;
  signer: Address;
  recipient: Address;
  /** 32 bytes, 0x-hex lower-case. */
  groupId: `0x${string}`;
  value: bigint;
  expiration: bigint;
}

/** What the daemon stores per channel. */
export interface ChannelState {
  channelId: bigint;
  nonce: bigint;
  sender: Address;
  signer: Address;
  recipient: Address;
  groupId: `0x${string}`;
  /** Chain value minus what was claimed at StartClaim. */
  fullAmount: bigint;
  expiration: bigint;
  /** Last accepted cumulative amount at `nonce`; 0 when nothing was paid yet. */
  authorisedAmount: bigint;
  /** The client signature that authorised `authorisedAmount`, byte for byte. */
  signature?: Uint8Array;
}

/** A claimed payment kept from StartClaim until the chain shows the claim (key: channel + old nonce). */
export interface PaymentInClaim {
  channelId: bigint;
  nonce: bigint;
  amount: bigint;
  signature: Uint8Array;
}

/** A channel first seen on the chain: nothing authorised yet. */
export function fromChain(channelId: bigint, c: ChainChannel): ChannelState {
  return {
    channelId,
    nonce: c.nonce,
    sender: c.sender,
    signer: c.signer,
    recipient: c.recipient,
    groupId: c.groupId,
    fullAmount: c.value,
    expiration: c.expiration,
    authorisedAmount: 0n,
  };
}

/**
 * Stored record merged with the chain's (protocol/payments.md#reading-a-channel):
 * stored nonce ahead → a claim is in flight, keep stored; behind → claimed elsewhere, take the chain;
 * equal → stored, with value and expiration from chain (top-ups, extensions).
 */
export function mergeWithChain(stored: ChannelState, chain: ChainChannel): ChannelState {
  if (stored.nonce > chain.nonce) return stored;
  if (stored.nonce < chain.nonce) return fromChain(stored.channelId, chain);
  return { ...stored, fullAmount: chain.value, expiration: chain.expiration };
}

/** `channels(id)` of a channel that does not exist returns a zero sender. */
export const isUnknownOnChain = (c: ChainChannel) => /^0x0{40}$/.test(c.sender);
