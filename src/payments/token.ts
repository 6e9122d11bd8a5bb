/**
 * The prepaid bearer token (payments.md §7, signatures.md §4 "Prepaid bearer token"): an HS256 JWT with
 * the reference's claims — `payload` (decimal channel id), `userAddress` (EIP-55), `orgId`, `groupId`
 * (base64 text), `exp` — so only daemons of the same group, sharing its secret, accept it.
 *
 * The secret is `token_secret_key` when set (config refuses the reference's public default, pitfalls.md
 * #11), else 32 random bytes generated on the first start and kept in the store, created only if absent,
 * so every replica of the group reads the same one. HMAC verification is jose's (WebCrypto, timing-safe).
 */
import { SignJWT, errors, jwtVerify } from "jose";
import { unauthenticated } from "../core/errors.ts";
import { type Address, isAddress } from "../core/signatures.ts";
import type { Store } from "../store/contract.ts";
import { decodeSecret, encodeSecret } from "../store/prepaid-records.ts";
import { checksum } from "./escrow-gate.ts";
import { storeCall } from "./channel-book.ts";

export const SECRET_BYTES = 32;
const ALGORITHM = "HS256";

export interface TokenScope {
  orgId: string;
  /** The org metadata group_id, base64 text as written there. */
  groupIdBase64: string;
}

export interface PrepaidTokens {
  /** A token for `user` paying through channel `channelId`, valid for `token_expiry_in_minutes`. */
  issue(channelId: bigint, user: Address): Promise<string>;
  /** The token's user, when the token is this group's, unexpired and for `channelId`; else UNAUTHENTICATED. */
  verify(token: string, channelId: bigint): Promise<{ user: Address }>;
}

export interface PrepaidTokensOptions extends TokenScope {
  secret: Uint8Array;
  lifetimeMinutes: number;
  /** For tests: the clock used to stamp and check expiry. */
  now?: () => Date;
}

const refuse = (reason: string) => unauthenticated(`prepaid token is not valid: ${reason}`);

/**
 * @example
 * const tokens = prepaidTokens({ secret, orgId: "snet", groupIdBase64: group.groupIdBase64, lifetimeMinutes: 1440 });
 * const token = await tokens.issue(7n, sender);
 * const { user } = await tokens.verify(token, 7n);
 */
export function prepaidTokens(o: PrepaidTokensOptions): PrepaidTokens {
  if (o.secret.length < SECRET_BYTES) throw new RangeError(`the prepaid token secret is ${o.secret.length} bytes long, expected at least ${SECRET_BYTES}`);
  const now = o.now ?? (() => new Date());
  return {
    async issue(channelId, user) {
      const issuedAt = Math.floor(now().getTime() / 1000);
      return new SignJWT({ payload: channelId.toString(), userAddress: checksum(user), orgId: o.orgId, groupId: o.groupIdBase64 })
        .setProtectedHeader({ alg: ALGORITHM, typ: "JWT" })
        .setIssuedAt(issuedAt)
        .setExpirationTime(issuedAt + o.lifetimeMinutes * 60)
        .sign(o.secret);
    },
    async verify(token, channelId) {
      let claims: Record<string, unknown>;
      try {
        ({ payload: claims } = await jwtVerify(token, o.secret, { algorithms: [ALGORITHM], requiredClaims: ["exp"], currentDate: now() }));
      } catch (err) {
        if (err instanceof errors.JWTExpired) throw refuse(`it expired at ${new Date(Number(err.payload.exp) * 1000).toISOString()}, ask for a new one with GetToken`);
        if (err instanceof errors.JWSSignatureVerificationFailed) throw refuse("it was not issued by this service group");
        if (err instanceof errors.JOSEError) throw refuse(err.message);
        throw err;
      }
      // Claims are checked only after the MAC proved they are ours; mismatches mean a token of this group
      // presented with the wrong channel, or a secret shared across groups by mistake.
      if (claims.payload !== channelId.toString()) throw refuse(`it was issued for channel "${String(claims.payload)}", the call pays with channel "${channelId}"`);
      if (claims.orgId !== o.orgId || claims.groupId !== o.groupIdBase64) {
        throw refuse(`it was issued for organization "${String(claims.orgId)}" group "${String(claims.groupId)}", this daemon serves "${o.orgId}" group "${o.groupIdBase64}"`);
      }
      if (typeof claims.userAddress !== "string" || !isAddress(claims.userAddress)) throw refuse("it carries no user address");
      return { user: claims.userAddress.toLowerCase() as Address };
    },
  };
}

/**
 * The group's token secret: the configured one, else the one in the store, else a new random one stored
 * with a create-if-absent commit (when two replicas race on first start, both end up with the winner's).
 */
export async function tokenSecret(store: Store, key: string, configured: string | undefined): Promise<{ secret: Uint8Array; source: "configured" | "stored" | "generated" }> {
  if (configured !== undefined && configured !== "") return { secret: new TextEncoder().encode(configured), source: "configured" };
  for (;;) {
    const entry = await storeCall("read token secret", () => store.get(key));
    if (entry) return { secret: decodeSecret(entry.value), source: "stored" };
    const secret = crypto.getRandomValues(new Uint8Array(SECRET_BYTES));
    const created = await storeCall("store token secret", () => store.commit({ compare: [{ key, version: 0n }], then: [{ op: "put", key, value: encodeSecret(secret) }] }));
    if (created) return { secret, source: "generated" };
  }
}
