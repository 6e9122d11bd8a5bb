/**
 * How the end of a gRPC call becomes a Connect unary response (docs/protocol/headers.md#connect): status 0
 * and one message → HTTP 200 with the message (JSON or binary); any other status → the Connect error
 * JSON `{"code", "message", "details"}` with the HTTP status of its code. Response headers stay headers;
 * trailers become headers prefixed `trailer-`, as the Connect protocol carries them.
 */
import { gunzipSync, inflateSync } from "node:zlib";
import type { DescMessage, Registry } from "@bufbuild/protobuf";
import { BinaryReader, base64Encode, WireType } from "@bufbuild/protobuf/wire";
import { type SnetError, toSnetError } from "../core/errors.ts";
import { decodeFrames, decodeGrpcMessage } from "../core/grpc-frames.ts";
import { connectReplyCount, connectReplyUndecodable } from "../core/messages/connect.ts";
import type { HeaderMap } from "./call.ts";
import { binaryToJson } from "./connect-codec.ts";
import { decodeBinaryHeader } from "./metadata.ts";

/** Connect's code names, indexed by gRPC status code, with the HTTP status of each (the Connect protocol's table). */
const CODES: readonly (readonly [string, number])[] = [
  ["ok", 200],
  ["canceled", 499],
  ["unknown", 500],
  ["invalid_argument", 400],
  ["deadline_exceeded", 504],
  ["not_found", 404],
  ["already_exists", 409],
  ["permission_denied", 403],
  ["resource_exhausted", 429],
  ["failed_precondition", 400],
  ["aborted", 409],
  ["out_of_range", 400],
  ["unimplemented", 501],
  ["internal", 500],
  ["unavailable", 503],
  ["data_loss", 500],
  ["unauthenticated", 401],
];

/** gRPC bookkeeping that has no place in a Connect response. */
const GRPC_ONLY = new Set([
  "content-type",
  "content-length",
  "grpc-encoding",
  "grpc-accept-encoding",
  "grpc-status",
  "grpc-message",
  "grpc-status-details-bin",
]);

export interface HttpReply {
  readonly status: number;
  readonly headers: Record<string, string | string[]>;
  readonly body: Uint8Array;
}

/** What a gRPC call produced: its response headers, the bytes of its message frames, its trailers. */
export interface GrpcOutcome {
  readonly headers: HeaderMap;
  readonly frames: Uint8Array;
  readonly trailers: HeaderMap;
  /** The frames passed the size of one message and were dropped: the service sent several. */
  readonly tooManyMessages?: boolean;
}

export interface ReplyFormat {
  readonly path: string;
  /** JSON reply (`application/json`) with the method's reply type; else the binary message (`application/proto`). */
  readonly json?: { readonly output: DescMessage; readonly registry: Registry | undefined };
  readonly maxMessageBytes: number;
}

/** The Connect code name and HTTP status of a gRPC status code; codes outside 0–16 (snet's 1000) are `unknown`. */
export function connectCode(code: number): { name: string; httpStatus: number } {
  const entry = CODES[code] ?? (CODES[2] as readonly [string, number]);
  return { name: entry[0], httpStatus: entry[1] };
}

/** The Connect error response for `err` (a refusal before any gRPC call, or a failed conversion). */
export function connectErrorReply(err: SnetError, headers: Record<string, string | string[]> = {}): HttpReply {
  return errorReply(err.code, err.message, [], headers);
}

/** The Connect response for a finished gRPC call. */
export function connectReply(outcome: GrpcOutcome, format: ReplyFormat): HttpReply {
  const headers = metadataHeaders(outcome);
  const status = Number(first(outcome.trailers["grpc-status"]) ?? first(outcome.headers["grpc-status"]) ?? 2);
  if (status !== 0) {
    const message = decodeGrpcMessage(
      first(outcome.trailers["grpc-message"]) ?? first(outcome.headers["grpc-message"]) ?? "",
    );
    const details = first(outcome.trailers["grpc-status-details-bin"]);
    return errorReply(Number.isInteger(status) ? status : 2, message, details ? statusDetails(details) : [], headers);
  }
  try {
    const message = onlyMessage(outcome, format);
    if (!format.json)
      return { status: 200, headers: { ...headers, "content-type": "application/proto" }, body: message };
    const json = binaryToJson(format.path, format.json.output, message, format.json.registry);
    return {
      status: 200,
      headers: { ...headers, "content-type": "application/json" },
      body: new TextEncoder().encode(json),
    };
  } catch (err) {
    return connectErrorReply(toSnetError(err), headers);
  }
}

function errorReply(
  code: number,
  message: string,
  details: readonly ConnectDetail[],
  headers: Record<string, string | string[]>,
): HttpReply {
  const { name, httpStatus } = connectCode(code);
  const error = { code: name, ...(message ? { message } : {}), ...(details.length ? { details } : {}) };
  return {
    status: httpStatus,
    headers: { ...headers, "content-type": "application/json" },
    body: new TextEncoder().encode(JSON.stringify(error)),
  };
}

/** The one reply message, decompressed; a unary Connect call has exactly one. */
function onlyMessage(outcome: GrpcOutcome, format: ReplyFormat): Uint8Array {
  if (outcome.tooManyMessages) throw connectReplyCount(format.path, "several");
  let frames: { flag: number; payload: Uint8Array }[];
  try {
    frames = decodeFrames(outcome.frames);
  } catch (err) {
    throw connectReplyUndecodable(format.path, (err as Error).message);
  }
  if (frames.length !== 1) throw connectReplyCount(format.path, frames.length);
  const frame = frames[0] as { flag: number; payload: Uint8Array };
  if ((frame.flag & 1) === 0) return frame.payload;
  const encoding = first(outcome.headers["grpc-encoding"]) ?? "identity";
  const limit = { maxOutputLength: format.maxMessageBytes };
  try {
    if (encoding === "gzip") return gunzipSync(frame.payload, limit);
    if (encoding === "deflate") return inflateSync(frame.payload, limit);
  } catch (err) {
    throw connectReplyUndecodable(format.path, `cannot decompress it (${(err as Error).message})`);
  }
  throw connectReplyUndecodable(format.path, `it is compressed with grpc-encoding "${encoding}"`);
}

/** Response headers as they are, trailers prefixed `trailer-`; gRPC's own fields dropped. */
function metadataHeaders(outcome: GrpcOutcome): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(outcome.headers)) if (!k.startsWith(":") && !GRPC_ONLY.has(k)) out[k] = v;
  for (const [k, v] of Object.entries(outcome.trailers))
    if (!k.startsWith(":") && !GRPC_ONLY.has(k)) out[`trailer-${k}`] = v;
  return out;
}

const first = (v: string | readonly string[] | undefined): string | undefined =>
  Array.isArray(v) ? v[0] : (v as string | undefined);

interface ConnectDetail {
  readonly type: string;
  readonly value: string;
}

/** The `details` of a `grpc-status-details-bin` (a google.rpc.Status): each Any as Connect's {type, value}. */
function statusDetails(bin: string): ConnectDetail[] {
  const details: ConnectDetail[] = [];
  try {
    const status = new BinaryReader(decodeBinaryHeader(bin));
    while (status.pos < status.len) {
      const [field, wire] = status.tag();
      if (field !== 3 || wire !== WireType.LengthDelimited) {
        status.skip(wire);
        continue;
      }
      const any = new BinaryReader(status.bytes());
      let typeUrl = "";
      let value: Uint8Array = new Uint8Array(0);
      while (any.pos < any.len) {
        const [f, w] = any.tag();
        if (f === 1 && w === WireType.LengthDelimited) typeUrl = any.string();
        else if (f === 2 && w === WireType.LengthDelimited) value = any.bytes();
        else any.skip(w);
      }
      details.push({ type: typeUrl.slice(typeUrl.lastIndexOf("/") + 1), value: base64Encode(value, "std_raw") });
    }
  } catch {
    // Details are an extra; a malformed status keeps the code and message.
    return [];
  }
  return details;
}
