/**
 * Raw requests for the end-to-end fuzz suite (daemon.fuzz.test.ts): gRPC over one HTTP/2 session and
 * gRPC-Web over HTTP/1.1, with whatever headers and body a hostile client sends, each answered by the
 * status the daemon gave. No client library in between: grpc-js would refuse to send most of it.
 */
import type * as http2 from "node:http2";
import fc from "fast-check";
import { encodeFrame } from "../../src/core/grpc-frames.ts";
import { encodeBinaryHeader } from "../../src/transport/metadata.ts";
import { nastyBytes, nastyString } from "./fuzz-kit.ts";

export const ECHO_PATHS = [
  "/example.Echo/Echo",
  "/example.Echo/Slow",
  "/example.Echo/ServerStream",
  "/example.Echo/Nope",
];
export const DAEMON_PATHS = [
  "/escrow.PaymentChannelStateService/GetChannelState",
  "/escrow.FreeCallStateService/GetFreeCallToken",
  "/escrow.FreeCallStateService/GetFreeCallsAvailable",
  "/escrow.TokenService/GetToken",
  "/escrow.ProviderControlService/GetListUnclaimed",
  "/escrow.ProviderControlService/StartClaim",
  "/grpc.health.v1.Health/Check",
];

/** What came back: the gRPC status (trailers, or headers for a trailers-only reply) or the HTTP status. */
export interface Answer {
  httpStatus: number | undefined;
  grpcStatus: number | undefined;
  grpcMessage: string;
}

const PAYMENT_KEYS = [
  "snet-payment-type",
  "snet-payment-channel-id",
  "snet-payment-channel-nonce",
  "snet-payment-channel-amount",
  "snet-payment-channel-signature-bin",
  "snet-prepaid-auth-token-bin",
  "snet-free-call-user-address",
  "snet-free-call-user-id",
  "snet-current-block-number",
  "snet-free-call-auth-token-bin",
];

/** Payment headers no client could have signed: random texts and bytes under the real keys. */
export const garbageMetadata = (channelId: bigint): fc.Arbitrary<Record<string, string>> =>
  fc
    .array(
      fc.tuple(
        fc.constantFrom(...PAYMENT_KEYS),
        fc.oneof(
          nastyString(),
          nastyBytes().map(encodeBinaryHeader),
          fc.constantFrom("escrow", "prepaid-call", "free-call", channelId.toString(), "0", "1"),
          fc.bigInt({ min: 0n, max: 2n ** 70n }).map(String),
        ),
      ),
      { maxLength: 10 },
    )
    .map((entries) => Object.fromEntries(entries));

/** A request body: random bytes, frames holding random bytes, truncated or oversized frames. */
export const garbageBody: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  fc.uint8Array({ maxLength: 300 }).map((p) => encodeFrame(p)),
  fc
    .tuple(fc.uint8Array({ maxLength: 60 }), fc.integer({ min: 1, max: 4 }))
    .map(([p, cut]) => encodeFrame(p).subarray(0, Math.max(0, 5 + p.length - cut))),
  fc.integer({ min: 0, max: 255 }).map((flag) => encodeFrame(Uint8Array.of(10, 2, 104, 105), flag)),
  fc.constant(Uint8Array.of(0, 0x7f, 0xff, 0xff, 0xff)),
);

/** HTTP/2 header values must be visible ASCII; anything else node refuses to send, so it is not sent. */
const sendable = (v: string) => /^[\x20-\x7e]*$/.test(v) && v.trim() === v;

/** One gRPC request on `session`; resolves with the daemon's answer (never rejects on a refusal). */
export function h2Request(
  session: http2.ClientHttp2Session,
  path: string,
  metadata: Record<string, string>,
  body: Uint8Array,
  contentType = "application/grpc",
): Promise<Answer> {
  const headers: http2.OutgoingHttpHeaders = {
    ":method": "POST",
    ":path": path,
    "content-type": contentType,
    te: "trailers",
  };
  for (const [k, v] of Object.entries(metadata)) if (sendable(v)) headers[k] = v;
  return new Promise((resolve, reject) => {
    const stream = session.request(headers, { endStream: false });
    let httpStatus: number | undefined;
    let grpcStatus: number | undefined;
    let grpcMessage = "";
    const take = (h: http2.IncomingHttpHeaders) => {
      if (h["grpc-status"] !== undefined) grpcStatus = Number(h["grpc-status"]);
      if (h["grpc-message"] !== undefined) grpcMessage = decodeURIComponent(String(h["grpc-message"]));
    };
    stream.on("response", (h) => {
      httpStatus = Number(h[":status"]);
      take(h);
    });
    stream.on("trailers", take);
    stream.on("data", () => {});
    // A hang is a failure with the request in it, not a suite that never ends.
    const timer = setTimeout(() => reject(new Error(`no answer to ${path} within 15 s`)), 15_000);
    stream.on("close", () => {
      clearTimeout(timer);
      resolve({ httpStatus, grpcStatus, grpcMessage });
    });
    stream.on("error", reject);
    stream.end(Buffer.from(body));
  });
}

/** One gRPC-Web request over HTTP/1.1 (fetch), binary or base64 text; the status from the trailer frame. */
export async function grpcWebRequest(
  baseUrl: string,
  path: string,
  metadata: Record<string, string>,
  body: Uint8Array,
  text: boolean,
): Promise<Answer> {
  const headers: Record<string, string> = {
    "content-type": text ? "application/grpc-web-text" : "application/grpc-web+proto",
    "x-grpc-web": "1",
  };
  for (const [k, v] of Object.entries(metadata)) if (sendable(v)) headers[k] = v;
  const response = await fetch(`${baseUrl}${path}`, {
    method: "POST",
    headers,
    body: text ? Buffer.from(body).toString("base64") : Buffer.from(body),
    signal: AbortSignal.timeout(15_000),
  });
  let bytes = Buffer.from(await response.arrayBuffer());
  if (text) bytes = Buffer.from(bytes.toString("latin1"), "base64");
  const fromHeader = response.headers.get("grpc-status");
  let grpcStatus = fromHeader === null ? undefined : Number(fromHeader);
  let grpcMessage = decodeURIComponent(response.headers.get("grpc-message") ?? "");
  // The trailers are the frame flagged 0x80; messages before it are skipped.
  for (let at = 0; at + 5 <= bytes.length; ) {
    const length = bytes.readUInt32BE(at + 1);
    if ((bytes[at] as number) & 0x80) {
      for (const line of bytes
        .subarray(at + 5, at + 5 + length)
        .toString("latin1")
        .split("\r\n")) {
        const [k, ...v] = line.split(":");
        if (k?.trim().toLowerCase() === "grpc-status") grpcStatus = Number(v.join(":").trim());
        if (k?.trim().toLowerCase() === "grpc-message") grpcMessage = decodeURIComponent(v.join(":").trim());
      }
    }
    at += 5 + length;
  }
  return { httpStatus: response.status, grpcStatus, grpcMessage };
}
