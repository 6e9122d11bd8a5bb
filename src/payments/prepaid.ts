/**
 * Prepaid (concurrent) calls, the SDKs' default paid path (payments.md §7):
 *
 * - `escrow.TokenService/GetToken` turns a larger signed amount into planned budget P: the signature is
 *   stored as the channel's authorised amount (claimable by the treasurer exactly like escrow) and
 *   P += signed − authorised, in one transaction with the channel record.
 * - a `prepaid-call` carries the bearer token; admission adds the price to U iff U + price ≤ P, as one
 *   compare-on-version commit retried on conflict — no lock, so any number of calls run at once on one
 *   channel. A failed service call gives its price back by lowering U (see store/prepaid-records.ts).
 */
import type { BlockSource } from "../chain/mpe.ts";
import { chainMayKnowBetter, checkEscrow } from "../core/escrow.ts";
import { Code, SnetError, internal, invalidArgument, notFound, permissionDenied } from "../core/errors.ts";
import type { EscrowPayment, PrepaidPayment } from "../core/payment-headers.ts";
import { type Address, type SignerRecovery, prepaidTokenRequestMessage } from "../core/signatures.ts";
import { TokenReplySchema, TokenRequestSchema } from "../gen/token_service_pb.ts";
import { encodeChannel } from "../store/records.ts";
import type { Keys } from "../store/records.ts";
import type { Store } from "../store/contract.ts";
import { NO_PREPAID_USAGE, type PrepaidUsage, backoff, decodePrepaid, encodePrepaid, updateRecord } from "../store/prepaid-records.ts";
import { type DaemonMethod, unary } from "../transport/daemon-services.ts";
import type { Admission } from "../transport/proxy.ts";
import { type ChannelBook, storeCall } from "./channel-book.ts";
import type { PaymentContext } from "./context.ts";
import { checksum, paymentSigner } from "./escrow-gate.ts";
import { requireFreshBlock } from "./freshness.ts";
import type { ChannelSlots } from "./slots.ts";
import { requestSigner } from "./state-service.ts";
import { type PrepaidTokens, prepaidTokens, tokenSecret } from "./token.ts";

export interface PrepaidDeps {
  mpe: Address;
  store: Store;
  keys: Keys;
  book: ChannelBook;
  slots: ChannelSlots;
  blocks: BlockSource;
  recovery: SignerRecovery;
  expirationThreshold: bigint;
  tokens: PrepaidTokens;
  /** Price of a method path; throws INTERNAL when the pricing does not define it. */
  price(path: string): bigint;
  /** Optional allow-list of claim signers (allowed_user_flag). */
  allowedSigners?: ReadonlySet<Address>;
}

const u64 = (v: bigint) => (v > 0xffffffffffffffffn ? 0xffffffffffffffffn : v);
const GET_TOKEN_ATTEMPTS = 64;

/** P and U of a channel (zeros before its first GetToken). */
export async function prepaidUsage(d: Pick<PrepaidDeps, "store" | "keys">, channelId: bigint): Promise<{ usage: PrepaidUsage; version: bigint }> {
  const entry = await storeCall("read prepaid usage", () => d.store.get(d.keys.prepaid(channelId)));
  return entry ? { usage: decodePrepaid(entry.value), version: entry.version } : { usage: NO_PREPAID_USAGE, version: 0n };
}

export function tokenService(d: PrepaidDeps): DaemonMethod {
  return unary("/escrow.TokenService/GetToken", TokenRequestSchema, TokenReplySchema, async (req) => {
    const id = req.channelId;
    // signatures.md §3.9: the outer signature covers the claim signature and the block.
    const outer = requestSigner(d.recovery, prepaidTokenRequestMessage(req.claimSignature, req.currentBlock), req.signature);
    await requireFreshBlock(d.blocks, req.currentBlock);
    const payment: EscrowPayment = { type: "escrow", channelId: id, nonce: req.currentNonce, amount: req.signedAmount, signature: req.claimSignature };
    const inner = paymentSigner(d.recovery, d.mpe, payment);
    if (inner && d.allowedSigners && !d.allowedSigners.has(inner)) {
      throw new SnetError(Code.PERMISSION_DENIED, `signer ${checksum(inner)} is not in allowed_user_addresses`);
    }

    // The channel record changes here, so no escrow call or StartClaim may be half-way on it.
    const slot = await d.slots.acquire(d.keys.slot(id));
    if (!slot) throw new SnetError(Code.FAILED_PRECONDITION, `another transaction on channel: {ID: ${id}} is in progress`);
    try {
      for (let attempt = 1; ; attempt++) {
        let loaded = await d.book.load(id);
        if (!loaded) throw notFound(`channel is not found, channelId: ${id}`);
        const { signer, sender, recipient } = loaded.state;
        if (outer !== signer && outer !== sender && outer !== recipient) {
          throw permissionDenied("only channel signer/sender/receiver can get a Valid Token");
        }
        // payments.md §7 step 3: an escrow payment at current_nonce for signed_amount, without the price check.
        const check = async () =>
          checkEscrow({ channel: loaded!.state, payment, signer: inner, head: await d.blocks.head(), expirationThreshold: d.expirationThreshold, price: undefined });
        let failed = await check();
        if (failed && chainMayKnowBetter(failed.failure, payment.nonce, loaded.state.nonce)) {
          loaded = (await d.book.load(id, { refreshFromChain: true })) ?? loaded;
          failed = await check();
        }
        if (failed) throw failed.error;

        const authorised = loaded.state.authorisedAmount;
        if (req.signedAmount < authorised) throw invalidArgument("signed amount for token request needs to be greater than last signed amount");
        const current = await prepaidUsage(d, id);
        let usage = current.usage;
        if (req.signedAmount > authorised) {
          usage = { ...usage, planned: usage.planned + (req.signedAmount - authorised) };
          const channel = { ...loaded.state, authorisedAmount: req.signedAmount, signature: req.claimSignature };
          const ok = await storeCall("store planned amount", () =>
            d.store.commit({
              compare: [
                { key: d.keys.channel(id), version: loaded.version },
                { key: d.keys.prepaid(id), version: current.version },
              ],
              then: [
                { op: "put", key: d.keys.channel(id), value: encodeChannel(channel) },
                { op: "put", key: d.keys.prepaid(id), value: encodePrepaid(usage) },
                ...slot.releaseOps,
              ],
            }),
          );
          if (!ok) {
            // Concurrent prepaid calls moved U: read again and redo the decision.
            if (attempt >= GET_TOKEN_ATTEMPTS) throw internal("unable to store new payment channel state");
            await backoff(attempt);
            continue;
          }
        }
        // signed == authorised with nothing planned: P = 0 makes both SDKs ask for more (wire.md §9.1).
        return { channelId: id, token: await d.tokens.issue(id, sender), plannedAmount: u64(usage.planned), usedAmount: u64(usage.used) };
      }
    } finally {
      await slot.release();
    }
  });
}

/** Admission of a `prepaid-call`: token, price, then U += price iff U + price ≤ P. */
export async function admitPrepaid(d: Pick<PrepaidDeps, "store" | "keys" | "tokens" | "price">, path: string, p: PrepaidPayment): Promise<Admission> {
  const id = p.channelId;
  const { user } = await d.tokens.verify(p.token, id);
  const price = d.price(path);
  const key = d.keys.prepaid(id);
  await storeCall("reserve prepaid usage", () =>
    updateRecord(d.store, key, decodePrepaid, encodePrepaid, (u = NO_PREPAID_USAGE) => {
      if (u.used + price > u.planned) throw internal(`internal error: Usage Exceeded on channel Id ${id}`);
      return { next: { ...u, used: u.used + price }, result: undefined };
    }),
  );
  return {
    setHeaders: { "snet-user-address": checksum(user) },
    dropHeaders: [],
    async settle(ok) {
      if (ok || price === 0n) return undefined;
      // The service failed: the call is not charged. A store failure here costs the client one price at
      // most; the call already failed, so there is nothing better to report.
      await updateRecord(d.store, key, decodePrepaid, encodePrepaid, (u = NO_PREPAID_USAGE) => ({
        next: { ...u, used: u.used >= price ? u.used - price : 0n },
        result: undefined,
      })).catch(() => undefined);
      return undefined;
    },
  };
}

export interface PrepaidFeature {
  method: DaemonMethod;
  admit(path: string, p: PrepaidPayment): Promise<Admission>;
  /** For GetChannelState's planned_amount / used_amount. */
  counters(channelId: bigint): Promise<{ planned: bigint; used: bigint }>;
  secretSource: "configured" | "stored" | "generated";
}

/** Everything `serve` needs for prepaid calls, from the payment context. */
export async function prepaidFeature(
  ctx: PaymentContext,
  x: { mpe: Address; slots: ChannelSlots; recovery: SignerRecovery; price(path: string): bigint; allowedSigners?: ReadonlySet<Address> },
): Promise<PrepaidFeature> {
  const { secret, source } = await tokenSecret(ctx.store, ctx.keys.secret("prepaid-token"), ctx.config.token_secret_key);
  const tokens = prepaidTokens({ secret, orgId: ctx.group.orgId, groupIdBase64: ctx.group.groupIdBase64, lifetimeMinutes: ctx.config.token_expiry_in_minutes });
  const d: PrepaidDeps = {
    ...x,
    store: ctx.store,
    keys: ctx.keys,
    book: ctx.book,
    blocks: ctx.blocks,
    expirationThreshold: ctx.group.expirationThreshold,
    tokens,
  };
  return {
    method: tokenService(d),
    admit: (path, p) => admitPrepaid(d, path, p),
    counters: async (id) => (await prepaidUsage(d, id)).usage,
    secretSource: source,
  };
}
