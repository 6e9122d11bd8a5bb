/**
 * One incoming gRPC call, whatever carried it: native gRPC over HTTP/2, or gRPC-Web over HTTP/1.1 or
 * HTTP/2 (binary or base64 text), or a Connect unary call (JSON or binary). Handlers and the proxy speak only this interface, so gRPC-Web support
 * is a translation at the edge, not a second code path.
 */
import type { Readable } from "node:stream";
import type { Metadata } from "./metadata.ts";

export type HeaderMap = Record<string, string | string[]>;

export interface ServerCall {
  readonly path: string;
  readonly metadata: Metadata;
  /** What the client asked for, in milliseconds from arrival; undefined when it set no deadline. */
  readonly timeoutMs: number | undefined;
  readonly protocol: "grpc" | "grpc-web" | "connect";
  /** The client's IP address, for limits per address; undefined when the transport cannot tell. */
  readonly peer?: string | undefined;
  /** The request body as gRPC frames (gRPC-Web text already base64-decoded). */
  readonly body: Readable;
  /** Sends response headers (once). */
  sendHeaders(headers: HeaderMap): void;
  /** Writes gRPC frames; false means wait for `onDrain`. */
  write(chunk: Uint8Array): boolean;
  onDrain(listener: () => void): void;
  /** Ends the call with trailers (`grpc-status` and friends). Safe to call once; later calls are ignored. */
  finish(trailers: HeaderMap): void;
  /** The client went away before `finish`. */
  onCancel(listener: () => void): void;
  readonly finished: boolean;
}

/** Common response headers for a gRPC reply. */
export const GRPC_CONTENT_TYPE = "application/grpc";
