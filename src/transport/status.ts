/** How a SnetError ends a gRPC call: the status code and its message, percent-encoded as gRPC requires. */
import { RetryLaterError, type SnetError } from "../core/errors.ts";
import { encodeGrpcMessage } from "../core/grpc-frames.ts";
import type { HeaderMap } from "./call.ts";

/** Trailers carrying `err` as the call's status. */
export function statusTrailers(err: SnetError): HeaderMap {
  const trailers: HeaderMap = { "grpc-status": String(err.code), "grpc-message": encodeGrpcMessage(err.message) };
  // gRPC has no standard retry hint; the HTTP header name is what clients and proxies already know.
  if (err instanceof RetryLaterError) trailers["retry-after"] = String(err.retryAfterSeconds);
  return trailers;
}
