/**
 * Catalogue: proxying a call to the AI service — connection, deadlines, sizes, pricing.
 */
import { Code, SnetError } from "../errors.ts";

/** The AI service cannot be reached. */
export const cannotConnect = (host: string, detail: string) =>
  new SnetError(Code.UNAVAILABLE, `can't connect to service ${host}: ${detail}`);

/** The call's deadline passed before the service answered. */
export const deadlineExceeded = () => new SnetError(Code.DEADLINE_EXCEEDED, "deadline exceeded");

/** The client went away; the service's call is cancelled too. */
export const cancelledByClient = () => new SnetError(Code.CANCELLED, "cancelled by the client");

/** A client message over `max_message_size_in_mb`. */
export const clientMessageTooLarge = (size: number, max: number) =>
  new SnetError(Code.RESOURCE_EXHAUSTED, `received message larger than max (${size} vs. ${max})`);

/** A service message over `max_message_size_in_mb`. */
export const serviceMessageTooLarge = (size: number, max: number) =>
  new SnetError(Code.RESOURCE_EXHAUSTED, `service sent a message larger than max (${size} vs. ${max})`);

/** The service ended the stream without a gRPC status. */
export const noStatusFromService = (rstCode: number | undefined) =>
  new SnetError(
    Code.UNAVAILABLE,
    `failed proxying s2c: the service closed the stream without a status (code ${rstCode ?? "none"})`,
  );

/** The pricing in the metadata does not price this method. */
export const priceNotDefined = (path: string) =>
  new SnetError(Code.INTERNAL, `internal error: price is not defined for the Method ${path}`);

/** The client ended its stream before sending the request message (the reference: "error receiving grpc msg: EOF"). */
export const noRequestMessage = () =>
  new SnetError(Code.INTERNAL, "error receiving grpc msg: the client sent no request message");

/** The request message did not arrive in time (read before the price or the service call). */
export const requestMessageLate = (ms: number) =>
  new SnetError(Code.DEADLINE_EXCEEDED, `deadline exceeded: the request message did not arrive within ${ms} ms`);

/** A compressed request in an encoding snetd cannot read (it must read the message for non-gRPC services and prices). */
export const requestEncodingUnsupported = (encoding: string) =>
  new SnetError(
    Code.UNIMPLEMENTED,
    `grpc-encoding "${encoding}" is not supported for this method, expected identity, gzip or deflate`,
  );

/** A compressed request that does not decompress. */
export const requestUndecompressable = (detail: string) =>
  new SnetError(Code.INTERNAL, `error receiving grpc msg: cannot decompress the request: ${detail}`);
