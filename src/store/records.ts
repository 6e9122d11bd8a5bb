/**
 * Keys and values of the payment state, the same for every backend.
 *
 * Keys: `/snetd/v1/<chain id>/<mpe>/<org id>/<group id hex>/<kind>/<id…>` — namespaced by network, MPE,
 * org and group so two services or two MPE deployments never collide (protocol/reference-differences.md#d9).
 * Values: JSON objects with `"v": 1`; integers as decimal strings, bytes as 0x-hex. Version 1 is the
 * documented encoding (protocol/state.md#values); readers refuse versions they do not know.
 */
import type { ChannelState, PaymentInClaim } from "../core/channel.ts";
import { bytesToHex, hexToBytes } from "../core/numbers.ts";
import type { Address } from "../core/signatures.ts";

export const RECORD_VERSION = 1;

export interface Namespace {
  chainId: number;
  mpe: Address;
  orgId: string;
  groupIdHex: `0x${string}`;
}

/** The key prefix of one payment group on one chain and MPE. */
export function namespacePrefix(ns: Namespace): string {
  return `/snetd/v1/${ns.chainId}/${ns.mpe}/${encodeURIComponent(ns.orgId)}/${ns.groupIdHex}`;
}

/** Fixed-width decimal so that prefix listings come back in numeric order. */
const idPart = (id: bigint) => id.toString().padStart(78, "0");

/** Every key of a payment group, from its namespace prefix. */
export const keys = (prefix: string) => ({
  channel: (id: bigint) => `${prefix}/channel/${idPart(id)}`,
  channels: `${prefix}/channel/`,
  claim: (id: bigint, nonce: bigint) => `${prefix}/claim/${idPart(id)}/${idPart(nonce)}`,
  claimsOf: (id: bigint) => `${prefix}/claim/${idPart(id)}/`,
  claims: `${prefix}/claim/`,
  slot: (id: bigint) => `${prefix}/slot/${idPart(id)}`,
  slots: `${prefix}/slot/`,
  /** Another replica's request for a channel's slot (payments/leased-slots.ts). */
  handoffs: `${prefix}/handoff/`,
  prepaid: (id: bigint) => `${prefix}/prepaid/${idPart(id)}`,
  freeCall: (userKey: string) => `${prefix}/free-call/${userKey}`,
  freeCalls: `${prefix}/free-call/`,
  secret: (name: string) => `${prefix}/secret/${name}`,
  claimJob: (id: bigint) => `${prefix}/claim-job/${idPart(id)}`,
  claimJobs: `${prefix}/claim-job/`,
});
export type Keys = ReturnType<typeof keys>;

function parse(kind: string, text: string): Record<string, unknown> {
  const obj = JSON.parse(text) as Record<string, unknown>;
  if (obj.v !== RECORD_VERSION)
    throw new Error(`${kind} record has encoding version ${String(obj.v)}, this snetd reads version ${RECORD_VERSION}`);
  return obj;
}

const big = (v: unknown) => BigInt(v as string);

/** The stored text of a channel record. */
export function encodeChannel(c: ChannelState): string {
  return JSON.stringify({
    v: RECORD_VERSION,
    channel_id: c.channelId.toString(),
    nonce: c.nonce.toString(),
    sender: c.sender,
    signer: c.signer,
    recipient: c.recipient,
    group_id: c.groupId,
    full_amount: c.fullAmount.toString(),
    expiration: c.expiration.toString(),
    authorised_amount: c.authorisedAmount.toString(),
    ...(c.signature ? { signature: bytesToHex(c.signature) } : {}),
  });
}

/** A channel record from its stored text; refuses unknown encoding versions. */
export function decodeChannel(text: string): ChannelState {
  const o = parse("channel", text);
  return {
    channelId: big(o.channel_id),
    nonce: big(o.nonce),
    sender: o.sender as Address,
    signer: o.signer as Address,
    recipient: o.recipient as Address,
    groupId: o.group_id as `0x${string}`,
    fullAmount: big(o.full_amount),
    expiration: big(o.expiration),
    authorisedAmount: big(o.authorised_amount),
    ...(typeof o.signature === "string" ? { signature: hexToBytes(o.signature) } : {}),
  };
}

/** The stored text of a claim record. */
export function encodeClaim(p: PaymentInClaim): string {
  return JSON.stringify({
    v: RECORD_VERSION,
    channel_id: p.channelId.toString(),
    nonce: p.nonce.toString(),
    amount: p.amount.toString(),
    signature: bytesToHex(p.signature),
  });
}

/** A claim record from its stored text. */
export function decodeClaim(text: string): PaymentInClaim {
  const o = parse("claim", text);
  return {
    channelId: big(o.channel_id),
    nonce: big(o.nonce),
    amount: big(o.amount),
    signature: hexToBytes(o.signature as string),
  };
}
