/**
 * Catalogue: malformed requests — payment metadata, numbers, addresses, signature encodings and the
 * framing of the daemon's own requests. Texts follow docs/protocol/errors.md; clients match some of them.
 */
import { Code, SnetError } from "../errors.ts";

const invalid = (message: string) => new SnetError(Code.INVALID_ARGUMENT, message);

/** A call without any metadata. */
export const missingMetadata = () => invalid("missing metadata");

/** A payment header sent more than once. */
export const tooManyValues = (key: string, values: readonly string[]) =>
  invalid(`too many values for key "${key}": [${values.join(" ")}]`);

/** A required payment header is absent. */
export const missingHeader = (key: string) => invalid(`missing "${key}"`);

/** A payment header whose value does not parse (decimal or base64). */
export const incorrectFormat = (key: string, text: string) => invalid(`incorrect format "${key}": "${text}"`);

/** A binary value under a key that does not end in `-bin`. */
export const incorrectBinaryKeyName = (key: string) => invalid(`incorrect binary key name "${key}"`);

/** `snet-payment-type` names no payment type this daemon knows. */
export const unexpectedPaymentType = (header: string, type: string) =>
  invalid(`unexpected "${header}", value: "${type}"`);

/** A big-endian number field longer than 32 bytes. */
export const numberTooLong = (what: string, length: number) =>
  invalid(`${what} is ${length} bytes long, expected at most 32`);

/** An address that is not 0x + 40 hex digits. */
export const notAnAddress = (address: string) =>
  invalid(`"${address}" is not an address, expected 0x followed by 40 hex digits`);

/** A signature that is not 65 bytes (also an empty one). */
export const incorrectSignatureLength = () => invalid("incorrect signature length");

/** A signature whose recovery byte is not 0, 1, 27 or 28. */
export const incorrectSignatureData = () => invalid("incorrect signature data");

/** A unary daemon request with zero or several messages. */
export const expectedOneMessage = (count: number) => invalid(`expected exactly one request message, got ${count}`);

/** A daemon request whose frame or protobuf message does not decode; `detail` is the decoder's reason. */
export const malformedRequest = (detail: string) => invalid(`request message cannot be decoded: ${detail}`);

/** A compressed daemon request (the daemon announces no grpc-encoding). */
export const compressedRequest = () => new SnetError(Code.UNIMPLEMENTED, "compressed requests are not supported");

/** A streamed request whose body ended inside a message. */
export const truncatedRequest = (missing: number) =>
  invalid(`the request ended ${missing} bytes short of its last message`);
