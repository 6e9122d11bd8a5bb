/** How a SnetError ends a gRPC call: the status code and its message, percent-encoded as gRPC requires. */
import type { SnetError } from "../core/errors.ts";
import type { HeaderMap } from "./call.ts";
import { encodeGrpcMessage } from "../core/grpc-frames.ts";

/** Trailers carrying `err` as the call's status. */
export function statusTrailers(err: SnetError): HeaderMap {
  return { "grpc-status": String(err.code), "grpc-message": encodeGrpcMessage(err.message) };
}
