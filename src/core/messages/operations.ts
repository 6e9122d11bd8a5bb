/**
 * Catalogue: refusals that come from running the daemon rather than from a payment: rate limits and the
 * allowed-users list (curation mode). The rate-limit text is the reference daemon's, space before the
 * comma included, since clients and operators grep it.
 */
import { Code, RetryLaterError, SnetError } from "../errors.ts";

/** The reference's wire text of a rate-limit refusal. */
export const RATE_LIMIT_TEXT = "rate limiting , too many requests to handle";

/** A token bucket is empty; `retryAfterMs` says when the next token arrives (whole seconds, at least 1). */
export const rateLimited = (retryAfterMs: number) =>
  new RetryLaterError(Code.RESOURCE_EXHAUSTED, RATE_LIMIT_TEXT, Math.max(1, Math.ceil(retryAfterMs / 1000)));

/** The reference's text for a payer outside `allowed_user_addresses` (protocol/operations.md#allowed-users). */
export const NOT_ALLOWED_TEXT = "you are not Authorized to call this service during curation process";

/** The signer of a payment, token request or free call is not on `allowed_user_addresses`. */
export const userNotAllowed = () => new SnetError(Code.PERMISSION_DENIED, NOT_ALLOWED_TEXT);
