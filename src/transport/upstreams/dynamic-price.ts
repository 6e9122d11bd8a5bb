/**
 * The price of a dynamically priced call (protocol/upstreams.md#price-call): the service's price method is
 * called with the client's first request message, before the priced method runs. Unlike the reference:
 * it rides the upstream's existing HTTP/2 session (no connection per call), half-closes after the message
 * (grpc-js runs unary handlers only then), has its own timeout, and a service that is down is
 * UNAVAILABLE, never a crash.
 */
import http2 from "node:http2";
import { fromBinary, fromJsonString } from "@bufbuild/protobuf";
import type { SnetError } from "../../core/errors.ts";
import { decodeFrames, decodeGrpcMessage, encodeFrame, formatGrpcTimeout } from "../../core/grpc-frames.ts";
import {
  CAUSE,
  cancelled,
  priceNoReply,
  priceRpcFailed,
  priceTimeout,
  priceUnavailable,
  priceUndecodable,
} from "../../core/messages/upstreams.ts";
import { PriceInCogsSchema } from "../../gen/pricing_pb.ts";
import type { Upstream } from "../upstream.ts";
import { causeText, type UnaryUpstream } from "./unary.ts";

/** The reference has no timeout of its own; ours bounds the wait even when the client set none. */
export const PRICE_TIMEOUT_MS = 10_000;
/** A PriceInCogs is a few bytes; anything much larger is not one. */
const MAX_REPLY_BYTES = 64 * 1024;

export interface PriceCall {
  /** Path of the price method, e.g. "/example.Calculator/estimate_add". */
  readonly pricePath: string;
  /** The client's first request message, unframed. */
  readonly message: Uint8Array;
  /** Headers sent along (e.g. the client's metadata); transport headers (grpc-*, content-type…) are dropped. */
  readonly headers?: Readonly<Record<string, string | readonly string[]>>;
  /** The client's remaining deadline, if any; the wait is min(this, PRICE_TIMEOUT_MS). */
  readonly clientTimeoutMs?: number;
  readonly signal?: AbortSignal;
}

const HOP_HEADERS = new Set(["content-type", "content-length", "te", "user-agent", "connection", "host"]);

/** grpc-go's names of status codes, as the reference prints them in "rpc error: code = …". */
export const CODE_NAMES = [
  "OK",
  "Canceled",
  "Unknown",
  "InvalidArgument",
  "DeadlineExceeded",
  "NotFound",
  "AlreadyExists",
  "PermissionDenied",
  "ResourceExhausted",
  "FailedPrecondition",
  "Aborted",
  "OutOfRange",
  "Unimplemented",
  "Internal",
  "Unavailable",
  "DataLoss",
  "Unauthenticated",
];

/** Calls the price method over `up`'s session and returns the price in cogs; rejects with a SnetError. */
export async function fetchDynamicPrice(up: Upstream, call: PriceCall): Promise<bigint> {
  const timeoutMs = Math.max(1, Math.min(call.clientTimeoutMs ?? PRICE_TIMEOUT_MS, PRICE_TIMEOUT_MS));
  let session: http2.ClientHttp2Session;
  try {
    session = await up.session();
  } catch (err) {
    throw priceUnavailable(call.pricePath, causeText(err), err);
  }
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(call.headers ?? {})) {
    // Transport headers of the client's call describe that call, not this one (its compression, size).
    if (k.startsWith(":") || k.startsWith("grpc-") || HOP_HEADERS.has(k)) continue;
    headers[k] = typeof v === "string" ? v : [...v];
  }
  Object.assign(headers, {
    ":method": "POST",
    ":path": call.pricePath,
    ":scheme": up.url.protocol === "https:" ? "https" : "http",
    ":authority": up.url.host,
    "content-type": "application/grpc+proto",
    te: "trailers",
    "grpc-timeout": formatGrpcTimeout(timeoutMs),
  });
  let stream: http2.ClientHttp2Stream;
  try {
    stream = session.request(headers, { endStream: false });
  } catch (err) {
    throw priceUnavailable(call.pricePath, causeText(err), err);
  }
  return new Promise<bigint>((resolve, reject) => {
    let settled = false;
    const parts: Buffer[] = [];
    let received = 0;
    let status: string | undefined;
    let statusMessage = "";
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      call.signal?.removeEventListener("abort", onAbort);
      if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_CANCEL);
      outcome();
    };
    const fail = (err: SnetError) => settle(() => reject(err));
    const timer = setTimeout(() => fail(priceTimeout(call.pricePath, timeoutMs)), timeoutMs);
    const onAbort = () => fail(cancelled());
    if (call.signal?.aborted) return onAbort();
    call.signal?.addEventListener("abort", onAbort, { once: true });

    const readStatus = (h: http2.IncomingHttpHeaders) => {
      const s = h["grpc-status"];
      if (typeof s === "string") {
        status = s;
        statusMessage = decodeGrpcMessage(String(h["grpc-message"] ?? ""));
      }
    };
    stream.on("response", readStatus);
    stream.on("trailers", readStatus);
    stream.on("data", (chunk: Buffer) => {
      received += chunk.length;
      if (received > MAX_REPLY_BYTES)
        return fail(priceUndecodable(CAUSE.replyTooLarge(call.pricePath, MAX_REPLY_BYTES)));
      parts.push(chunk);
    });
    stream.on("error", (err) => fail(priceUnavailable(call.pricePath, causeText(err), err)));
    stream.on("end", () =>
      settle(() => {
        try {
          resolve(priceOf(call.pricePath, status, statusMessage, Buffer.concat(parts)));
        } catch (err) {
          reject(err);
        }
      }),
    );
    stream.on("close", () => {
      if (!settled) fail(priceUnavailable(call.pricePath, CAUSE.streamClosed(stream.rstCode ?? "none")));
    });
    // One message, then half-close: the price method is unary.
    stream.end(encodeFrame(call.message));
  });
}

/**
 * For `http`, `jsonrpc` and `process` services the price method is reached like any other method:
 * through the service's own adapter (for http: POST <endpoint>/<price method>, reply `{"price": "…"}`;
 * for jsonrpc: method <price method>, result `{"price": …}`, the reply in the service's `encoding`).
 * The reference dials gRPC even there, which cannot work.
 */
export async function fetchDynamicPriceVia(
  up: UnaryUpstream,
  call: PriceCall,
  encoding: "proto" | "json" = "proto",
): Promise<bigint> {
  const timeoutMs = Math.max(1, Math.min(call.clientTimeoutMs ?? PRICE_TIMEOUT_MS, PRICE_TIMEOUT_MS));
  let reply: Uint8Array;
  try {
    reply = await up.call({
      path: call.pricePath,
      message: call.message,
      timeoutMs,
      signal: call.signal ?? new AbortController().signal,
    });
  } catch (err) {
    // Whatever went wrong, the call is refused before the service runs, and may be retried.
    if (call.signal?.aborted) throw cancelled();
    throw priceUnavailable(call.pricePath, err instanceof Error ? err.message : String(err), err);
  }
  try {
    // A JSON service (metadata `encoding: json`, e.g. JSON-RPC) answers {"price": …} in its own encoding.
    return encoding === "json"
      ? fromJsonString(PriceInCogsSchema, new TextDecoder().decode(reply), { ignoreUnknownFields: true }).price
      : fromBinary(PriceInCogsSchema, reply).price;
  } catch (err) {
    throw priceUndecodable(causeText(err), err);
  }
}

function priceOf(path: string, status: string | undefined, message: string, body: Uint8Array): bigint {
  if (status === undefined) throw priceUnavailable(path, CAUSE.noStatus);
  if (status !== "0") {
    const code = Number(status);
    throw priceRpcFailed(CODE_NAMES[code] ?? `Code(${status})`, message);
  }
  let frames: ReturnType<typeof decodeFrames>;
  try {
    frames = decodeFrames(body);
  } catch (err) {
    throw priceUndecodable(causeText(err), err);
  }
  const first = frames[0];
  if (!first) throw priceNoReply(path);
  if (first.flag !== 0) throw priceUndecodable(CAUSE.compressed);
  try {
    return fromBinary(PriceInCogsSchema, first.payload).price;
  } catch (err) {
    throw priceUndecodable(causeText(err), err);
  }
}
