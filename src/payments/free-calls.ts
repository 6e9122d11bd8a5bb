/**
 * Free calls, v6 protocol (payments.md §6, signatures.md §3.6–3.8, wire.md §3.2):
 *
 * - `GetFreeCallToken` answers every correctly signed, fresh request with a token signed by
 *   `private_key_for_free_calls` (pitfalls.md #22: snet-sdk-python asks before every default call and
 *   stops on an error); "no free calls left" is said by `GetFreeCallsAvailable` = 0 and by the call.
 * - Usage is counted per 20-byte address + user id + org + service + group (pitfalls.md #12), one
 *   compare-on-version commit per call: a use is reserved before forwarding (made + 1 iff made <
 *   allowed) and given back when the service fails, so concurrent calls never exceed the quota.
 * - `min_balance_for_free_call` (untrusted callers) makes the quota 0 rather than refusing the token.
 */
import { type PublicClient, erc20Abi } from "viem";
import type { BlockSource } from "../chain/mpe.ts";
import { shortError } from "../chain/mpe.ts";
import { Code, SnetError, internal, invalidArgument, permissionDenied, unauthenticated, unavailable } from "../core/errors.ts";
import type { FreeCallPayment } from "../core/payment-headers.ts";
import { addressOfPrivateKey, signDigest } from "../core/noble-recovery.ts";
import { bytesToHex, concatBytes, hexToBytes, parseDecimal } from "../core/numbers.ts";
import {
  type Address,
  type FreeCallRequestFields,
  type SignerRecovery,
  freeCallInvocationMessage,
  freeCallTokenMessage,
  freeCallTokenRequestMessage,
  normalizeAddress,
  personalDigest,
  recoverSigner,
} from "../core/signatures.ts";
import { FreeCallStateReplySchema, FreeCallStateRequestSchema, FreeCallTokenSchema, GetFreeCallTokenRequestSchema } from "../gen/state_service_pb.ts";
import type { Store } from "../store/contract.ts";
import { type FreeCallUsage, decodeFreeCall, encodeFreeCall, freeCallUserKey, updateRecord } from "../store/prepaid-records.ts";
import type { Keys } from "../store/records.ts";
import type { Logger } from "../ops/log.ts";
import { type DaemonMethod, unary } from "../transport/daemon-services.ts";
import type { Admission } from "../transport/proxy.ts";
import { storeCall } from "./channel-book.ts";
import type { PaymentContext } from "./context.ts";
import { checksum } from "./escrow-gate.ts";
import { requireFreshBlock } from "./freshness.ts";
import { requestSigner } from "./state-service.ts";

/** wire.md §3.2: longer or absent lifetimes are cut to this many blocks. */
export const MAX_TOKEN_LIFETIME_BLOCKS = 172_800n;
/** What GetFreeCallsAvailable reports for an unlimited quota. */
export const UNLIMITED_REPORTED = 99_999_999n;

export interface FreeCallDeps {
  store: Store;
  keys: Keys;
  blocks: BlockSource;
  recovery: SignerRecovery;
  orgId: string;
  serviceId: string;
  /** daemon_group_name: packed into the token (3.7). */
  groupName: string;
  /** The org metadata group_id text: packed into requests (3.6, 3.8). */
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
}

/** Calls allowed to `address` (any case); undefined = unlimited. */
export function allowedCalls(perAddress: Readonly<Record<string, number>>, defaultQuota: bigint, address: string): bigint | undefined {
  const own = perAddress[address.toLowerCase()];
  if (own === undefined || own === 0) return defaultQuota;
  return own === -1 ? undefined : BigInt(own);
}

export function availableCalls(allowed: bigint | undefined, made: bigint): bigint {
  if (allowed === undefined) return UNLIMITED_REPORTED;
  return allowed > made ? allowed - made : 0n;
}

/** Token bytes on the wire: `signature(65) ‖ "_" ‖ decimal(expiry)` (signatures.md §3.6–3.8). */
export function encodeFreeCallToken(signature: Uint8Array, expiryBlock: bigint): Uint8Array {
  return concatBytes(signature, new TextEncoder().encode(`_${expiryBlock}`));
}

/** Splits at the last `_` (the signature may contain 0x5f bytes, the decimal never does). */
export function parseFreeCallToken(token: Uint8Array): { signature: Uint8Array; expiryBlock: bigint } {
  const at = token.lastIndexOf(0x5f);
  if (at < 0) throw invalidArgument(`invalid token: expected signature_block, got ${token.length} bytes without "_"`);
  const signature = token.subarray(0, at);
  const text = new TextDecoder().decode(token.subarray(at + 1));
  const expiryBlock = parseDecimal(text);
  if (expiryBlock === undefined) throw invalidArgument(`invalid token: expiry block "${text}" is not a decimal number`);
  if (signature.length !== 65) throw invalidArgument(`invalid token: signature is ${signature.length} bytes long, expected 65`);
  return { signature, expiryBlock };
}

/** Signs a token (3.7) for `user` with v = 27/28. */
export function signFreeCallToken(privateKey: Uint8Array, f: { orgId: string; groupName: string; user: Address; userId: string; expiryBlock: bigint }): Uint8Array {
  const signature = signDigest(privateKey, personalDigest(freeCallTokenMessage(f.orgId, f.groupName, f.user, f.userId, f.expiryBlock)));
  return encodeFreeCallToken(signature, f.expiryBlock);
}

const enabled = (d: FreeCallDeps) => {
  if ("off" in d.signer) throw new SnetError(Code.FAILED_PRECONDITION, `free calls are not enabled on this daemon: ${d.signer.off}`);
  return d.signer;
};

const fieldsOf = (d: FreeCallDeps, addressText: string, userId: string, currentBlock: bigint): FreeCallRequestFields => ({
  addressText,
  userId,
  orgId: d.orgId,
  serviceId: d.serviceId,
  groupIdBase64: d.groupIdBase64,
  currentBlock,
});

/**
 * The checks of a free call and of GetFreeCallsAvailable, in the order of signatures.md §3.6–3.8:
 * request signer = address → token signed by the group's free-call signer for that signer, user id and
 * expiry → expiry ≥ head → current_block within ±5.
 */
export async function verifyFreeCall(
  d: FreeCallDeps,
  r: { addressText: string; userId: string; currentBlock: bigint; token: Uint8Array; signature: Uint8Array },
): Promise<Address> {
  const key = enabled(d);
  const token = parseFreeCallToken(r.token);
  const claimed = normalizeAddress(r.addressText);
  const user = recoverSigner(d.recovery, freeCallInvocationMessage(fieldsOf(d, r.addressText, r.userId, r.currentBlock), r.token), r.signature);
  if (user !== claimed) {
    throw unauthenticated(`sign is not valid: invalid signer, ${r.addressText} (from request) is not equal to ${user ? checksum(user) : "nobody"} (signer)`);
  }
  const tokenSigner = recoverSigner(d.recovery, freeCallTokenMessage(d.orgId, d.groupName, user, r.userId, token.expiryBlock), token.signature);
  if (tokenSigner !== key.address) throw unauthenticated("token sign is not valid");
  const head = await d.blocks.head();
  if (token.expiryBlock < head) {
    throw internal(`internal error: free call token expired, expiration block: ${token.expiryBlock}, current block: ${head}; ask for a new one with GetFreeCallToken`);
  }
  await requireFreshBlock(d.blocks, r.currentBlock);
  if (d.allowedSigners && !d.allowedSigners.has(user)) throw permissionDenied(`signer ${checksum(user)} is not in allowed_user_addresses`);
  return user;
}

/** Calls still allowed to a verified user, 0 when the balance rule excludes them. */
async function quotaOf(d: FreeCallDeps, user: Address, userId: string): Promise<{ allowed: bigint | undefined; key: string; made: bigint; poor: boolean }> {
  const key = d.keys.freeCall(freeCallUserKey(d.serviceId, user, userId));
  const entry = await storeCall("read free-call usage", () => d.store.get(key));
  const made = entry ? decodeFreeCall(entry.value).made : 0n;
  const poor = d.minBalance > 0n && !d.trustedSigners.has(user) && d.balanceOf !== undefined && (await d.balanceOf(user)) < d.minBalance;
  return { allowed: allowedCalls(d.perAddress, d.defaultQuota, user), key, made, poor };
}

export function freeCallMethods(d: FreeCallDeps): DaemonMethod[] {
  // snet-sdk-python 5 asks for a free-call token before every default call and gives up on any error
  // (pitfalls.md #22), so a correctly signed, fresh request always gets a token. With free calls off it
  // is signed by a throwaway key: it verifies nowhere, GetFreeCallsAvailable says 0, and the SDK pays.
  const tokenKey = "off" in d.signer ? crypto.getRandomValues(new Uint8Array(32)) : d.signer.privateKey;
  const getToken = unary("/escrow.FreeCallStateService/GetFreeCallToken", GetFreeCallTokenRequestSchema, FreeCallTokenSchema, async (req) => {
    const userId = req.userId ?? "";
    const claimed = normalizeAddress(req.address);
    const signer = requestSigner(d.recovery, freeCallTokenRequestMessage(fieldsOf(d, req.address, userId, req.currentBlock)), req.signature);
    if (signer !== claimed) throw permissionDenied(`invalid signer, ${req.address} (from request) is not equal to ${checksum(signer)} (signer)`);
    await requireFreshBlock(d.blocks, req.currentBlock);
    if (userId !== "" && !d.trustedSigners.has(signer)) {
      throw permissionDenied("your address is not trusted by this service provider, the use of user_id is not allowed");
    }
    if (d.allowedSigners && !d.allowedSigners.has(signer)) throw permissionDenied(`signer ${checksum(signer)} is not in allowed_user_addresses`);
    const lifetime = req.tokenLifetimeInBlocks;
    const expiryBlock = (await d.blocks.head()) + (lifetime === undefined || lifetime > MAX_TOKEN_LIFETIME_BLOCKS ? MAX_TOKEN_LIFETIME_BLOCKS : lifetime);
    const token = signFreeCallToken(tokenKey, { orgId: d.orgId, groupName: d.groupName, user: signer, userId, expiryBlock });
    return { token, tokenHex: bytesToHex(token, false), tokenExpirationBlock: expiryBlock };
  });

  const available = unary("/escrow.FreeCallStateService/GetFreeCallsAvailable", FreeCallStateRequestSchema, FreeCallStateReplySchema, async (req) => {
    if ("off" in d.signer) return { freeCallsAvailable: 0n };
    const userId = req.userId ?? "";
    const user = await verifyFreeCall(d, { addressText: req.address, userId, currentBlock: req.currentBlock, token: req.freeCallToken, signature: req.signature });
    const q = await quotaOf(d, user, userId);
    return { freeCallsAvailable: q.poor ? 0n : availableCalls(q.allowed, q.made) };
  });
  return [getToken, available];
}

/** Admission of a `free-call`: verify, then reserve one use of the quota before forwarding. */
export async function admitFreeCall(d: FreeCallDeps, _path: string, p: FreeCallPayment): Promise<Admission> {
  const user = await verifyFreeCall(d, p);
  const q = await quotaOf(d, user, p.userId);
  if (q.poor) throw permissionDenied(`you must have at least ${d.minBalanceText} FET (ASI) in your balance to use free calls`);
  const fresh = (u: FreeCallUsage | undefined): FreeCallUsage => u ?? { address: user, userId: p.userId, serviceId: d.serviceId, made: 0n };
  await storeCall("reserve a free call", () =>
    updateRecord(d.store, q.key, decodeFreeCall, encodeFreeCall, (current) => {
      const u = fresh(current);
      if (q.allowed !== undefined && u.made >= q.allowed) {
        throw internal(`internal error: free call limit has been exceeded, calls made = ${u.made}, total free calls eligible = ${q.allowed}`);
      }
      return { next: { ...u, made: u.made + 1n }, result: undefined };
    }),
  );
  return {
    setHeaders: { "snet-user-address": checksum(user) },
    dropHeaders: [],
    async settle(ok) {
      if (ok) return undefined;
      // A failed service call does not count; if even this write fails, the user loses one free call.
      await updateRecord(d.store, q.key, decodeFreeCall, encodeFreeCall, (current) => {
        const u = fresh(current);
        return { next: { ...u, made: u.made > 0n ? u.made - 1n : 0n }, result: undefined };
      }).catch(() => undefined);
      return undefined;
    },
  };
}

/** Token balances read from the chain, cached per address: the balance rule must not cost an RPC per call. */
export function tokenBalances(client: PublicClient, token: () => Promise<Address>, ttlMs = 300_000): (address: Address) => Promise<bigint> {
  const cache = new Map<Address, { value: bigint; at: number }>();
  let tokenAddress: Promise<Address> | undefined;
  return async (address) => {
    const hit = cache.get(address);
    if (hit && Date.now() - hit.at < ttlMs) return hit.value;
    try {
      tokenAddress ??= token();
      const value = await client.readContract({ address: await tokenAddress, abi: erc20Abi, functionName: "balanceOf", args: [address] });
      if (cache.size > 100_000) cache.clear();
      cache.set(address, { value, at: Date.now() });
      return value;
    } catch (err) {
      tokenAddress = undefined;
      throw unavailable(`cannot read the token balance of ${checksum(address)}: ${shortError(err)}`, err);
    }
  };
}

export interface FreeCallFeature {
  methods: DaemonMethod[];
  admit(path: string, p: FreeCallPayment): Promise<Admission>;
}

/** Free calls from the configuration and the group metadata: on only when the two name the same signer. */
export async function freeCallFeature(ctx: PaymentContext, x: { recovery: SignerRecovery; log: Logger; allowedSigners?: ReadonlySet<Address> }): Promise<FreeCallFeature> {
  const { config, group } = ctx;
  const configured = config.private_key_for_free_calls;
  const expected = group.freeCallSignerAddress?.toLowerCase() as Address | undefined;
  let signer: FreeCallDeps["signer"];
  if (!expected) signer = { off: `group "${group.groupName}" has no free_call_signer_address in the service metadata` };
  else if (!configured) signer = { off: "private_key_for_free_calls is not set" };
  else {
    const privateKey = hexToBytes(configured);
    const address = addressOfPrivateKey(privateKey);
    signer =
      address === expected
        ? { privateKey, address }
        : { off: `private_key_for_free_calls belongs to ${checksum(address)}, the group's free_call_signer_address is ${checksum(expected)}` };
  }
  const minWhole = config.min_balance_for_free_call ?? 0n;
  let minBalance = 0n;
  let balanceOf: FreeCallDeps["balanceOf"];
  if ("privateKey" in signer && minWhole > 0n) {
    const token = async () => (config.token_address?.toLowerCase() as Address | undefined) ?? ctx.mpe.token();
    balanceOf = tokenBalances(ctx.client, token);
    let decimals = 18;
    try {
      decimals = await ctx.client.readContract({ address: await token(), abi: erc20Abi, functionName: "decimals" });
    } catch (err) {
      x.log.warn("cannot read the token's decimals, assuming 18 for min_balance_for_free_call", { error: shortError(err) });
    }
    minBalance = minWhole * 10n ** BigInt(decimals);
  }
  if ("off" in signer) {
    if (expected || configured) x.log.warn("free calls are off", { reason: signer.off });
  } else {
    x.log.info("free calls enabled", { signer: checksum(signer.address), free_calls: group.freeCalls.toString(), min_balance: minWhole.toString() });
  }
  const d: FreeCallDeps = {
    store: ctx.store,
    keys: ctx.keys,
    blocks: ctx.blocks,
    recovery: x.recovery,
    orgId: group.orgId,
    serviceId: config.service_id,
    groupName: group.groupName,
    groupIdBase64: group.groupIdBase64,
    signer,
    trustedSigners: new Set(config.trusted_free_call_signers.map((a) => a.toLowerCase() as Address)),
    defaultQuota: group.freeCalls,
    perAddress: config.free_calls_per_address,
    minBalance,
    minBalanceText: minWhole.toString(),
    ...(balanceOf ? { balanceOf } : {}),
    ...(x.allowedSigners ? { allowedSigners: x.allowedSigners } : {}),
  };
  return { methods: freeCallMethods(d), admit: (path, p) => admitFreeCall(d, path, p) };
}
