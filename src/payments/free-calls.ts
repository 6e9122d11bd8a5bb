/**
 * Free calls (docs/protocol/payments.md), in the v6 protocol of the Python SDK and the v5 protocol of the
 * JavaScript SDKs, with one quota per user:
 *
 * - GetFreeCallToken answers every correctly signed, fresh request with a token signed by
 *   `private_key_for_free_calls` (snet-sdk-python asks before every default call and stops on an error);
 *   "no free calls left" is said by GetFreeCallsAvailable = 0 and by the call.
 * - Usage is counted per 20-byte address + user id + org + service + group, never per spelling of the
 *   address; a use is reserved before forwarding (made + 1 iff made < allowed) and given back when the
 *   service fails, so concurrent calls never exceed the quota (free-call-usage.ts writes the records).
 * - `min_balance_for_free_call` (untrusted callers) makes the quota 0 rather than refusing the token.
 * - v5 (an e-mail as user id, a token signed by the group's free-call signer or a trusted signer, issued
 *   out of band) counts against the same records, keyed by the recovered caller and the e-mail.
 */
import type { BlockSource } from "../chain/mpe.ts";
import type { Admission } from "../core/admission.ts";
import {
  allowedCalls,
  availableCalls,
  MAX_TOKEN_LIFETIME_BLOCKS,
  parseFreeCallToken,
  signFreeCallToken,
} from "../core/free-call-token.ts";
import { userNotAllowed } from "../core/messages/operations.ts";
import {
  balanceTooLow,
  freeCallsNotEnabled,
  freeCallTokenExpired,
  freeCallTokenForged,
  freeCallWrongSigner,
  tokenRequestWrongSigner,
  userIdNotTrusted,
} from "../core/messages/tokens.ts";
import type { FreeCallPayment, FreeCallV5, FreeCallV6 } from "../core/payment-headers.ts";
import {
  type Address,
  checksumAddress,
  type FreeCallRequestFields,
  freeCallInvocationMessage,
  freeCallTokenMessage,
  freeCallTokenRequestMessage,
  freeCallV5InvocationMessage,
  freeCallV5TokenMessage,
  normalizeAddress,
  recoverSigner,
  type SignerRecovery,
} from "../core/signatures.ts";
import { type FreeCallUsageDeps, giveBackFreeCall, madeBy, reserveFreeCall } from "./free-call-usage.ts";
import type { PayerLimit } from "./payer-limit.ts";
import { requestSigner, requireFreshBlock } from "./request-auth.ts";

export interface FreeCallDeps extends FreeCallUsageDeps {
  blocks: BlockSource;
  recovery: SignerRecovery;
  orgId: string;
  /** daemon_group_name: packed into the token. */
  groupName: string;
  /** The org metadata group_id text: packed into requests. */
  groupIdBase64: string;
  /** The token key when free calls are on, else why they are off. */
  signer: { privateKey: Uint8Array; address: Address } | { off: string };
  trustedSigners: ReadonlySet<Address>;
  /** Metadata `free_calls` of the group. */
  defaultQuota: bigint;
  /** `free_calls_per_address`, keys lower-case. */
  perAddress: Readonly<Record<string, number>>;
  /** Base units an untrusted caller must hold; 0 turns the rule off. */
  minBalance: bigint;
  /** For the refusal text: `min_balance_for_free_call` as configured (whole tokens). */
  minBalanceText: string;
  balanceOf?: (address: Address) => Promise<bigint>;
  allowedSigners?: ReadonlySet<Address>;
  /** Per-payer rate limit of free calls, taken once the call is verified. */
  limit?: PayerLimit;
}

/** A free call or GetFreeCallsAvailable request, in either dialect (the fields the signatures cover). */
export type FreeCallClaim = Omit<FreeCallV6, "type"> | Omit<FreeCallV5, "type">;

const enabled = (d: FreeCallDeps) => {
  if ("off" in d.signer) throw freeCallsNotEnabled(d.signer.off);
  return d.signer;
};

const fieldsOf = (
  d: FreeCallDeps,
  addressText: string,
  userId: string,
  currentBlock: bigint,
): FreeCallRequestFields => ({
  addressText,
  userId,
  orgId: d.orgId,
  serviceId: d.serviceId,
  groupIdBase64: d.groupIdBase64,
  currentBlock,
});

/**
 * The checks of a free call and of GetFreeCallsAvailable, in the reference's order: request signer =
 * address → token signed by the group's free-call signer for that signer, user id and expiry → expiry ≥
 * head → current_block within the window. Returns the caller.
 */
export async function verifyFreeCall(d: FreeCallDeps, r: FreeCallClaim): Promise<Address> {
  const user = r.dialect === "v6" ? await verifyV6(d, r) : await verifyV5(d, r);
  if (d.allowedSigners && !d.allowedSigners.has(user)) throw userNotAllowed();
  return user;
}

async function verifyV6(d: FreeCallDeps, r: Omit<FreeCallV6, "type">): Promise<Address> {
  const key = enabled(d);
  const token = parseFreeCallToken(r.token);
  const claimed = normalizeAddress(r.addressText);
  const user = recoverSigner(
    d.recovery,
    freeCallInvocationMessage(fieldsOf(d, r.addressText, r.userId, r.currentBlock), r.token),
    r.signature,
  );
  if (user !== claimed) throw freeCallWrongSigner(r.addressText, user ? checksumAddress(user) : "nobody");
  const tokenSigner = recoverSigner(
    d.recovery,
    freeCallTokenMessage(d.orgId, d.groupName, user, r.userId, token.expiryBlock),
    token.signature,
  );
  if (tokenSigner !== key.address) throw freeCallTokenForged();
  await requireUnexpired(d, token.expiryBlock, r.currentBlock);
  return user;
}

/** v5: the caller is whoever signed; the token may come from the group's signer or a trusted signer. */
async function verifyV5(d: FreeCallDeps, r: Omit<FreeCallV5, "type">): Promise<Address> {
  const key = enabled(d);
  const fields = {
    userId: r.userId,
    orgId: d.orgId,
    serviceId: d.serviceId,
    groupIdBase64: d.groupIdBase64,
    currentBlock: r.currentBlock,
  };
  const user = recoverSigner(d.recovery, freeCallV5InvocationMessage(fields, r.token), r.signature);
  if (!user) throw freeCallWrongSigner(r.userId, "nobody");
  const tokenSigner = recoverSigner(d.recovery, freeCallV5TokenMessage(r.userId, user, r.expiryBlock), r.token);
  if (!tokenSigner || (tokenSigner !== key.address && !d.trustedSigners.has(tokenSigner))) throw freeCallTokenForged();
  await requireUnexpired(d, r.expiryBlock, r.currentBlock);
  return user;
}

async function requireUnexpired(d: FreeCallDeps, expiryBlock: bigint, currentBlock: bigint): Promise<void> {
  if (expiryBlock < (await d.blocks.head())) throw freeCallTokenExpired();
  await requireFreshBlock(d.blocks, currentBlock);
}

/** Calls allowed to and made by a verified user; `poor` when the balance rule excludes them. */
async function quotaOf(
  d: FreeCallDeps,
  user: Address,
  userId: string,
): Promise<{ allowed: bigint | undefined; made: bigint; poor: boolean }> {
  const made = await madeBy(d, user, userId);
  const poor =
    d.minBalance > 0n &&
    !d.trustedSigners.has(user) &&
    d.balanceOf !== undefined &&
    (await d.balanceOf(user)) < d.minBalance;
  return { allowed: allowedCalls(d.perAddress, d.defaultQuota, user), made, poor };
}

export interface TokenRequestFields {
  address: string;
  userId: string;
  currentBlock: bigint;
  signature: Uint8Array;
  tokenLifetimeInBlocks: bigint | undefined;
}

/**
 * GetFreeCallToken. With free calls off the token is signed by a throwaway key: it verifies nowhere,
 * GetFreeCallsAvailable says 0, and the SDK pays (it gives up on any error here).
 */
export function freeCallTokens(d: FreeCallDeps) {
  const throwaway = crypto.getRandomValues(new Uint8Array(32));
  return async (req: TokenRequestFields): Promise<{ token: Uint8Array; expiryBlock: bigint }> => {
    // Read per request: live metadata may turn free calls on or off, or change the signer.
    const tokenKey = "off" in d.signer ? throwaway : d.signer.privateKey;
    const claimed = normalizeAddress(req.address);
    const signer = requestSigner(
      d.recovery,
      freeCallTokenRequestMessage(fieldsOf(d, req.address, req.userId, req.currentBlock)),
      req.signature,
    );
    if (signer !== claimed) throw tokenRequestWrongSigner(req.address, checksumAddress(signer));
    await requireFreshBlock(d.blocks, req.currentBlock);
    if (req.userId !== "" && !d.trustedSigners.has(signer)) throw userIdNotTrusted();
    if (d.allowedSigners && !d.allowedSigners.has(signer)) throw userNotAllowed();
    const lifetime = req.tokenLifetimeInBlocks;
    const expiryBlock =
      (await d.blocks.head()) +
      (lifetime === undefined || lifetime > MAX_TOKEN_LIFETIME_BLOCKS ? MAX_TOKEN_LIFETIME_BLOCKS : lifetime);
    const token = signFreeCallToken(tokenKey, {
      orgId: d.orgId,
      groupName: d.groupName,
      user: signer,
      userId: req.userId,
      expiryBlock,
    });
    return { token, expiryBlock };
  };
}

/** GetFreeCallsAvailable: 0 when free calls are off or the balance rule excludes the caller. */
export async function freeCallsAvailable(d: FreeCallDeps, req: FreeCallClaim): Promise<bigint> {
  if ("off" in d.signer) return 0n;
  const user = await verifyFreeCall(d, req);
  const q = await quotaOf(d, user, req.userId);
  return q.poor ? 0n : availableCalls(q.allowed, q.made);
}

/** Admission of a `free-call`: verify, then reserve one use of the quota before forwarding. */
export async function admitFreeCall(d: FreeCallDeps, _path: string, p: FreeCallPayment): Promise<Admission> {
  const user = await verifyFreeCall(d, p);
  d.limit?.({ payer: user });
  const q = await quotaOf(d, user, p.userId);
  if (q.poor) throw balanceTooLow(d.minBalanceText);
  await reserveFreeCall(d, user, p.userId, q.allowed);
  return {
    setHeaders: { "snet-user-address": checksumAddress(user) },
    dropHeaders: [],
    async settle(ok) {
      if (!ok) await giveBackFreeCall(d, user, p.userId);
      return undefined;
    },
  };
}
