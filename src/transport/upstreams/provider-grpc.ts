/**
 * A small gRPC client for the provider's training.Model service over the shared HTTP/2 session of
 * transport/upstream.ts: unary calls and client streams, with a deadline (sent as grpc-timeout and kept
 * locally), cancellation, write backpressure and a capped reply. No client metadata goes along (the
 * reference forwards none either). Failures are the training catalogue's `rpc error: …` texts.
 */
import http2 from "node:http2";
import type { SnetError } from "../../core/errors.ts";
import { decodeFrames, decodeGrpcMessage, encodeFrame, formatGrpcTimeout } from "../../core/grpc-frames.ts";
import { cancelledByClient } from "../../core/messages/service.ts";
import {
  providerBadReply,
  providerDeadline,
  providerStatus,
  providerUnreachable,
} from "../../core/messages/training.ts";
import type { Upstream } from "../upstream.ts";
import { CODE_NAMES } from "./dynamic-price.ts";
import { causeText } from "./unary.ts";

export interface ProviderCallOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** Largest reply accepted. */
  maxReplyBytes: number;
}

/** An open call: write request messages, then `end` for the reply message. */
export interface ProviderCall {
  /** Resolves when the stream accepts more (HTTP/2 flow control); rejects once the call failed. */
  write(message: Uint8Array): Promise<void>;
  /** Half-closes; resolves to the reply message (unframed). */
  end(): Promise<Uint8Array>;
  /** Abandons the call; the provider sees it cancelled. */
  cancel(): void;
}

/** Timers hold at most 2^31-1 ms. */
const MAX_TIMER_MS = 2_147_483_000;

/** Opens a call of `path` on the provider's session. */
export async function openProviderCall(up: Upstream, path: string, opts: ProviderCallOptions): Promise<ProviderCall> {
  const where = up.url.origin;
  let session: http2.ClientHttp2Session;
  try {
    session = await up.session();
  } catch (err) {
    throw providerUnreachable(where, causeText(err), err);
  }
  const timeoutMs = Math.max(1, Math.min(opts.timeoutMs, MAX_TIMER_MS));
  let stream: http2.ClientHttp2Stream;
  try {
    stream = session.request(
      {
        ":method": "POST",
        ":path": path,
        ":scheme": up.url.protocol === "https:" ? "https" : "http",
        ":authority": up.url.host,
        "content-type": "application/grpc",
        te: "trailers",
        "grpc-timeout": formatGrpcTimeout(timeoutMs),
      },
      { endStream: false },
    );
  } catch (err) {
    throw providerUnreachable(where, causeText(err), err);
  }

  let failure: SnetError | undefined;
  let finished = false;
  let resolveReply: (reply: Uint8Array) => void = () => {};
  let rejectReply: (err: SnetError) => void = () => {};
  const reply = new Promise<Uint8Array>((resolve, reject) => {
    resolveReply = resolve;
    rejectReply = reject;
  });
  reply.catch(() => {});
  const fail = (err: SnetError) => {
    if (finished) return;
    finished = true;
    failure = err;
    cleanup();
    if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_CANCEL);
    rejectReply(err);
  };
  const timer = setTimeout(() => fail(providerDeadline(path, timeoutMs)), timeoutMs);
  const onAbort = () => fail(cancelledByClient());
  const cleanup = () => {
    clearTimeout(timer);
    opts.signal?.removeEventListener("abort", onAbort);
  };
  if (opts.signal?.aborted) onAbort();
  else opts.signal?.addEventListener("abort", onAbort, { once: true });

  const parts: Buffer[] = [];
  let received = 0;
  let status: string | undefined;
  let message = "";
  const readStatus = (h: http2.IncomingHttpHeaders) => {
    if (typeof h["grpc-status"] === "string") {
      status = h["grpc-status"];
      message = decodeGrpcMessage(String(h["grpc-message"] ?? ""));
    }
  };
  stream.on("response", readStatus);
  stream.on("trailers", readStatus);
  stream.on("data", (chunk: Buffer) => {
    received += chunk.length;
    if (received > opts.maxReplyBytes + 5)
      return fail(providerBadReply(path, `larger than ${opts.maxReplyBytes} bytes`));
    parts.push(chunk);
  });
  stream.on("error", (err) => fail(providerUnreachable(where, causeText(err), err)));
  stream.on("end", () => {
    if (finished) return;
    finished = true;
    cleanup();
    try {
      resolveReply(replyOf(path, status, message, Buffer.concat(parts)));
    } catch (err) {
      failure = err as SnetError;
      rejectReply(failure);
    }
  });
  stream.on("close", () =>
    fail(providerUnreachable(where, `the stream closed without a status (code ${stream.rstCode ?? "none"})`)),
  );

  return {
    write(msg) {
      if (failure) return Promise.reject(failure);
      if (finished) return Promise.resolve();
      if (stream.write(encodeFrame(msg))) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const settle = () => {
          stream.off("drain", settle);
          stream.off("close", settle);
          if (failure) reject(failure);
          else resolve();
        };
        stream.once("drain", settle);
        stream.once("close", settle);
      });
    },
    end() {
      if (!finished && !stream.destroyed) stream.end();
      return reply;
    },
    cancel: () => fail(cancelledByClient()),
  };
}

/** One request message, one reply message. */
export async function providerUnary(
  up: Upstream,
  path: string,
  request: Uint8Array,
  opts: ProviderCallOptions,
): Promise<Uint8Array> {
  const call = await openProviderCall(up, path, opts);
  await call.write(request);
  return call.end();
}

function replyOf(path: string, status: string | undefined, message: string, body: Uint8Array): Uint8Array {
  if (status === undefined) throw providerBadReply(path, "the service answered without a gRPC status");
  if (status !== "0") {
    const code = Number(status);
    throw providerStatus(code, CODE_NAMES[code] ?? `Code(${status})`, message);
  }
  let frames: ReturnType<typeof decodeFrames>;
  try {
    frames = decodeFrames(body);
  } catch (err) {
    throw providerBadReply(path, causeText(err));
  }
  const first = frames[0];
  if (!first) throw providerBadReply(path, "the call ended without a reply message");
  if (first.flag !== 0) throw providerBadReply(path, "the reply is compressed, which was not asked for");
  return first.payload;
}
