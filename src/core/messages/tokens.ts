/**
 * Catalogue: prepaid tokens (TokenService, `prepaid-call`) and free calls (FreeCallStateService,
 * `free-call`). Reference texts where the SDKs match them (docs/protocol/errors.md).
 */
import { Code, SnetError } from "../errors.ts";

/** GetToken signed by someone outside the channel. */
export const tokenOnlyForParties = () =>
  new SnetError(Code.PERMISSION_DENIED, "only channel signer/sender/receiver can get a Valid Token");

/** GetToken with less than the amount already authorised. */
export const signedAmountTooLow = () =>
  new SnetError(Code.INVALID_ARGUMENT, "signed amount for token request needs to be greater than last signed amount");

/** A prepaid call over the planned amount; the SDK asks for a new token. */
export const usageExceeded = (id: bigint) =>
  new SnetError(Code.INTERNAL, `internal error: Usage Exceeded on channel Id ${id}`);

/** A prepaid bearer token that does not verify; `reason` says why and what to do. */
export const prepaidTokenInvalid = (reason: string) =>
  new SnetError(Code.UNAUTHENTICATED, `prepaid token is not valid: ${reason}`);

/** A `prepaid-call` on a daemon without prepaid calls. */
export const prepaidNotEnabled = () =>
  new SnetError(Code.UNIMPLEMENTED, "prepaid-call payments are not enabled on this daemon");

/** A free call on a daemon without free calls, optionally saying why. */
export const freeCallsNotEnabled = (why?: string) =>
  why === undefined
    ? new SnetError(Code.UNAUTHENTICATED, "free calls are not enabled on this daemon")
    : new SnetError(Code.FAILED_PRECONDITION, `free calls are not enabled on this daemon: ${why}`);

/** A free-call token without the `_` before its expiry block. */
export const freeCallTokenMissingSeparator = (length: number) =>
  new SnetError(Code.INVALID_ARGUMENT, `invalid token: expected signature_block, got ${length} bytes without "_"`);

/** A free-call token whose expiry is not a decimal block number. */
export const freeCallTokenBadExpiry = (text: string) =>
  new SnetError(Code.INVALID_ARGUMENT, `invalid token: expiry block "${text}" is not a decimal number`);

/** A free-call token whose signature is not 65 bytes. */
export const freeCallTokenBadSignature = (length: number) =>
  new SnetError(Code.INVALID_ARGUMENT, `invalid token: signature is ${length} bytes long, expected 65`);

/** The free call's signature is not the claimed address's. */
export const freeCallWrongSigner = (claimed: string, signer: string) =>
  new SnetError(
    Code.UNAUTHENTICATED,
    `sign is not valid: invalid signer, ${claimed} (from request) is not equal to ${signer} (signer)`,
  );

/** A free-call token not signed by the group's free-call signer. */
export const freeCallTokenForged = () => new SnetError(Code.UNAUTHENTICATED, "token sign is not valid");

/** A free-call token past its expiry block. */
export const freeCallTokenExpired = () =>
  new SnetError(Code.UNAUTHENTICATED, "authentication failed as the Free Call Token passed has expired");

/** GetFreeCallToken signed by another address than the one in the request. */
export const tokenRequestWrongSigner = (claimed: string, signer: string) =>
  new SnetError(Code.PERMISSION_DENIED, `invalid signer, ${claimed} (from request) is not equal to ${signer} (signer)`);

/** Only trusted signers may ask for tokens on behalf of a user id. */
export const userIdNotTrusted = () =>
  new SnetError(
    Code.PERMISSION_DENIED,
    "your address is not trusted by this service provider, the use of user_id is not allowed",
  );

/** The caller holds less than `min_balance_for_free_call`. */
export const balanceTooLow = (minWhole: string) =>
  new SnetError(
    Code.PERMISSION_DENIED,
    `you must have at least ${minWhole} FET (ASI) in your balance to use free calls`,
  );

/** The user's free calls are used up. */
export const freeCallLimitExceeded = (made: bigint, allowed: bigint) =>
  new SnetError(
    Code.INTERNAL,
    `internal error: free call limit has been exceeded, calls made = ${made}, total free calls eligible = ${allowed}`,
  );

/** The token balance for the free-call balance rule cannot be read. */
export const balanceUnreadable = (checksummed: string, detail: string, cause?: unknown) =>
  new SnetError(Code.UNAVAILABLE, `cannot read the token balance of ${checksummed}: ${detail}`, { cause });

/** Token and free-call services with `blockchain_enabled: false`. */
export const blockchainDisabled = () =>
  new SnetError(
    Code.FAILED_PRECONDITION,
    "error in generating token because blockchain is disabled, contact service provider",
  );
