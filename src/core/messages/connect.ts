/**
 * Catalogue: Connect unary calls — POST /<package>.<Service>/<Method> with a JSON or binary protobuf body
 * (docs/protocol/headers.md#connect).
 */
import { Code, SnetError } from "../errors.ts";

const invalid = (message: string) => new SnetError(Code.INVALID_ARGUMENT, message);
const unimplemented = (message: string) => new SnetError(Code.UNIMPLEMENTED, message);

/** A JSON body that is not the canonical proto3 JSON of the method's request message. */
export const invalidJsonRequest = (path: string, typeName: string, detail: string) =>
  invalid(`invalid JSON request body for ${path}: ${detail}; expected the proto3 JSON of ${typeName}`);

/** JSON needs the service's protos, which this daemon does not have (the reason says why). */
export const jsonUnavailable = (reason: string) =>
  unimplemented(`JSON calls are not available: ${reason}; send the binary message as application/proto instead`);

/** A JSON call to a path that names no method of the service's protos or of the daemon. */
export const connectMethodUnknown = (path: string) =>
  unimplemented(`method "${path}" is not in the service's proto files, expected /<package>.<Service>/<Method> exactly`);

/** A Connect unary call to a streaming method. */
export const connectMethodStreaming = (path: string, kind: string) =>
  unimplemented(
    `method "${path}" is ${kind.replace(/_/g, "-")}; Connect unary calls reach unary methods only, call it over gRPC or gRPC-Web`,
  );

/** `connect-timeout-ms` that is not 1 to 10 digits. */
export const badConnectTimeout = (value: string) =>
  invalid(`incorrect format "connect-timeout-ms": "${value}", expected a positive integer of at most 10 digits`);

/** `connect-protocol-version` other than 1. */
export const badConnectVersion = (value: string) =>
  invalid(`unsupported "connect-protocol-version": "${value}", expected "1"`);

/** A request body compressed with an encoding snetd does not read. */
export const connectEncodingUnsupported = (encoding: string) =>
  unimplemented(`content-encoding "${encoding}" is not supported, expected identity or gzip`);

/** A gzip request body that does not decompress (or decompresses past the size limit). */
export const connectBodyUndecompressable = (detail: string) =>
  invalid(`cannot decompress the gzip request body: ${detail}`);

/** The service answered a unary call with no message or several. */
export const connectReplyCount = (path: string, count: number | string) =>
  unimplemented(`the service sent ${count} reply messages for ${path}, a Connect unary call needs exactly one`);

/** The service's reply is not the method's reply message (or is compressed in an unknown encoding). */
export const connectReplyUndecodable = (path: string, detail: string) =>
  new SnetError(Code.INTERNAL, `cannot convert the service's reply to ${path}: ${detail}`);

/** A gzip request body larger than `max_message_size_in_mb` once decompressed. */
export const connectBodyTooLarge = (max: number) =>
  new SnetError(Code.RESOURCE_EXHAUSTED, `the gzip request body decompresses to more than max (${max} bytes)`);
