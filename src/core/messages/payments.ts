/**
 * Catalogue: escrow payments, channels, channel state and claims. The texts are the reference daemon's
 * where clients or operators match them (docs/protocol/errors.md); 1000 is SingularityNET's nonce code.
 */
import { Code, SnetError } from "../errors.ts";

const unauthenticated = (message: string) => new SnetError(Code.UNAUTHENTICATED, message);

/** The payment was signed for another nonce than the daemon's: the client re-reads the channel state. */
export const incorrectNonce = (latest: bigint, sent: bigint) =>
  new SnetError(Code.INCORRECT_NONCE, `incorrect payment channel nonce, latest: ${latest}, sent: ${sent}`);

/** No signer can be recovered from the payment signature. */
export const invalidPaymentSignature = () => unauthenticated("payment signature is not valid");

/** The payment is signed by neither the channel's signer nor its sender. */
export const notSignedBySigner = () => unauthenticated("payment is not signed by channel signer/sender");

/** The channel expires within the group's expiration threshold (strict, as the reference). */
export const channelNearExpiry = (expiration: bigint, head: bigint, threshold: bigint) =>
  unauthenticated(
    `payment channel is near to be expired, expiration time: ${expiration}, current block: ${head}, expiration threshold: ${threshold}`,
  );

/** The signed amount exceeds the channel's value. */
export const notEnoughTokens = (channelAmount: bigint, paymentAmount: bigint) =>
  unauthenticated(
    `not enough tokens on payment channel, channel amount: ${channelAmount}, payment amount: ${paymentAmount}`,
  );

/** The increment over the last accepted amount is not the method's price. */
export const incomeNotPrice = (income: bigint, price: bigint) =>
  unauthenticated(`income ${income} does not equal to price ${price}`);

/** Escrow admission of an unknown channel. */
export const paymentChannelNotFound = (id: bigint) => unauthenticated(`payment channel "{ID: ${id}}" not found`);

/** GetChannelState and GetToken of an unknown channel. */
export const channelNotFound = (id: bigint) => new SnetError(Code.NOT_FOUND, `channel is not found, channelId: ${id}`);

/** Treasurer requests naming an unknown channel. */
export const claimChannelNotFound = (id: bigint) =>
  new SnetError(Code.NOT_FOUND, `channel Id ${id} was not found on blockchain or storage`);

/** One call, token request or claim per channel at a time. */
export const channelBusy = (id: bigint) =>
  new SnetError(Code.FAILED_PRECONDITION, `another transaction on channel: {ID: ${id}} is in progress`);

/** StartClaim of a channel with no signed amount. */
export const nothingToClaim = (id: bigint) =>
  new SnetError(
    Code.FAILED_PRECONDITION,
    `authorized amount is zero , hence nothing to claim on the channel Id: ${id}`,
  );

/** The channel is paid to another address than the group's payment address. */
export const foreignRecipient = (id: bigint, recipient: string, paymentAddress: string) =>
  new SnetError(
    Code.INTERNAL,
    `payment channel error: recipient ${recipient} of channel ${id} is not the payment address ${paymentAddress} of this group`,
  );

/** The channel belongs to another payment group. */
export const foreignGroup = (id: bigint, groupId: string, served: string) =>
  new SnetError(
    Code.INTERNAL,
    `payment channel error: channel ${id} belongs to group ${groupId}, this daemon serves ${served}`,
  );

/** A request stamped with a block outside the accepted window. */
export const signatureExpired = () => unauthenticated("authentication failed as the signature passed has expired");

/** A request signature from which no signer can be recovered. */
export const incorrectSignature = () => unauthenticated("incorrect signature");

/** GetChannelState signed by someone outside the channel. */
export const stateOnlyForParties = () =>
  new SnetError(Code.PERMISSION_DENIED, "only channel signer/sender/receiver can get latest channel state");

/** A treasurer request for another MPE contract than the group's. */
export const mpeMismatch = (given: string) =>
  new SnetError(Code.INVALID_ARGUMENT, `the mpeAddress: ${given} passed does not match to what has been registered`);

/** A treasurer request not signed by the group's payment address. */
export const notPaymentAddress = (checksummed: string) =>
  new SnetError(
    Code.PERMISSION_DENIED,
    `the address: ${checksummed} does not match to what has been expected / registered`,
  );

/** The chain could not be read where an answer needs it. */
export const chainChannelUnreadable = (detail: string, cause?: unknown) =>
  new SnetError(Code.UNAVAILABLE, `unable to read channel details from blockchain: ${detail}`, { cause });

/** GetChannelState cannot check a claim in progress against the chain (the reference's exact text). */
export const stateChainUnreadable = (cause?: unknown) =>
  new SnetError(Code.UNAVAILABLE, "unable to read channel details from blockchain.", { cause });

/** The chain's head block cannot be read. */
export const headUnknown = (detail: string, cause?: unknown) =>
  new SnetError(Code.UNAVAILABLE, `cannot determine current block: ${detail}`, { cause });

/** The payment store failed: payments fail closed, the client may retry. */
export const storeUnavailable = (what: string, detail: string, cause?: unknown) =>
  new SnetError(Code.UNAVAILABLE, `payment state is unavailable (${what}): ${detail}`, { cause });

const STORE_FAILED = "unable to store new payment channel state";

/** The charge was written but its record then changed under the slot (the slot was lost): refused. */
export const paymentNotStored = (cause?: unknown) =>
  cause instanceof SnetError
    ? new SnetError(cause.code, `${STORE_FAILED}: ${cause.message}`, { cause })
    : new SnetError(Code.INTERNAL, STORE_FAILED, { cause });

/** The store failed while charging and cannot say whether it kept the charge: the service was not called. */
export const chargeOutcomeUnknown = (cause: SnetError) =>
  new SnetError(
    cause.code,
    `${cause.message}; the service was not called, and the payment is given back if it was stored`,
    { cause },
  );
