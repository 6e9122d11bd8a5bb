/**
 * The prepaid bearer token (docs/protocol/payments.md): an HS256 JWT with the reference's claims —
 * `payload` (decimal channel id), `userAddress` (EIP-55), `orgId`, `groupId` (base64 text), `exp` — so
 * only daemons of the same group, sharing its secret, accept it. HMAC verification is jose's (WebCrypto,
 * timing-safe). Where the secret comes from is payments/token-secret.ts.
 */
import { errors, jwtVerify, SignJWT } from "jose";
import { prepaidTokenInvalid } from "./messages/tokens.ts";
import { type Address, checksumAddress, isAddress } from "./signatures.ts";

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

const refuse = prepaidTokenInvalid;

/**
 * @example
 * const tokens = prepaidTokens({ secret, orgId: "snet", groupIdBase64: group.groupIdBase64, lifetimeMinutes: 1440 });
 * const token = await tokens.issue(7n, sender);
 * const { user } = await tokens.verify(token, 7n);
 */
export function prepaidTokens(o: PrepaidTokensOptions): PrepaidTokens {
  if (o.secret.length < SECRET_BYTES)
    throw new RangeError(
      `the prepaid token secret is ${o.secret.length} bytes long, expected at least ${SECRET_BYTES}`,
    );
  const now = o.now ?? (() => new Date());
  return {
    async issue(channelId, user) {
      const issuedAt = Math.floor(now().getTime() / 1000);
      return new SignJWT({
        payload: channelId.toString(),
        userAddress: checksumAddress(user),
        orgId: o.orgId,
        groupId: o.groupIdBase64,
      })
        .setProtectedHeader({ alg: ALGORITHM, typ: "JWT" })
        .setIssuedAt(issuedAt)
        .setExpirationTime(issuedAt + o.lifetimeMinutes * 60)
        .sign(o.secret);
    },
    async verify(token, channelId) {
      let claims: Record<string, unknown>;
      try {
        ({ payload: claims } = await jwtVerify(token, o.secret, {
          algorithms: [ALGORITHM],
          requiredClaims: ["exp"],
          currentDate: now(),
        }));
      } catch (err) {
        if (err instanceof errors.JWTExpired)
          throw refuse(
            `it expired at ${new Date(Number(err.payload.exp) * 1000).toISOString()}, ask for a new one with GetToken`,
          );
        if (err instanceof errors.JWSSignatureVerificationFailed)
          throw refuse("it was not issued by this service group");
        if (err instanceof errors.JOSEError) throw refuse(err.message);
        throw err;
      }
      // Claims are checked only after the MAC proved they are ours; mismatches mean a token of this group
      // presented with the wrong channel, or a secret shared across groups by mistake.
      if (claims.payload !== channelId.toString())
        throw refuse(
          `it was issued for channel "${String(claims.payload)}", the call pays with channel "${channelId}"`,
        );
      if (claims.orgId !== o.orgId || claims.groupId !== o.groupIdBase64) {
        throw refuse(
          `it was issued for organization "${String(claims.orgId)}" group "${String(claims.groupId)}", this daemon serves "${o.orgId}" group "${o.groupIdBase64}"`,
        );
      }
      if (typeof claims.userAddress !== "string" || !isAddress(claims.userAddress))
        throw refuse("it carries no user address");
      return { user: claims.userAddress.toLowerCase() as Address };
    },
  };
}
