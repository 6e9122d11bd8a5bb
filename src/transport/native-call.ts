/** ServerCall over a native gRPC HTTP/2 stream (h2c or h2 with TLS). */
import { constants, type IncomingHttpHeaders, type ServerHttp2Stream } from "node:http2";
import { Readable } from "node:stream";
import { parseGrpcTimeout } from "../core/grpc-frames.ts";
import type { HeaderMap, ServerCall } from "./call.ts";
import { metadataFromRaw } from "./metadata.ts";

/** Above this many buffered bytes `write` asks the producer to wait for 'drain'. */
const HIGH_WATER = 64 * 1024;

export function nativeCall(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, rawHeaders: string[]): ServerCall {
  let headersSent = false;
  let finished = false;
  let pendingTrailers: HeaderMap | undefined;
  const cancelListeners: (() => void)[] = [];
  // Headers and data wait for the end of the current turn of the event loop, so that a unary reply
  // (headers, one message, trailers arriving together from the service) leaves in one flush, not three.
  let heldHeaders: HeaderMap | undefined;
  let held: Uint8Array[] = [];
  let scheduled = false;

  const release = () => {
    scheduled = false;
    if (stream.destroyed) return;
    if (heldHeaders) {
      stream.respond({ ...heldHeaders, ":status": 200 }, { waitForTrailers: true });
      heldHeaders = undefined;
    }
    if (held.length) {
      const chunks = held;
      held = [];
      for (const c of chunks) stream.write(c);
    }
  };
  const schedule = () => {
    if (!scheduled) {
      scheduled = true;
      setImmediate(release);
    }
  };

  // Answered before the client finished sending (a refusal, a message over the limit): RST_STREAM NO_ERROR
  // after the status tells it to stop (RFC 9113 §8.1), as grpc-go does, instead of reading the rest.
  const stopReading = () => {
    if (!stream.readableEnded && !stream.destroyed) stream.close(constants.NGHTTP2_NO_ERROR);
  };
  stream.on("wantTrailers", () => {
    if (stream.destroyed) return;
    stream.sendTrailers((pendingTrailers ?? { "grpc-status": "0" }) as Record<string, string>);
    stopReading();
  });
  stream.on("close", () => {
    if (!finished) {
      finished = true;
      for (const l of cancelListeners) l();
    }
  });
  // An RST from the client surfaces as an error on the stream; 'close' follows and reports the cancel.
  stream.on("error", () => {});

  return {
    path: headers[":path"] ?? "",
    metadata: metadataFromRaw(rawHeaders),
    timeoutMs: parseGrpcTimeout(headers["grpc-timeout"] as string | undefined),
    protocol: "grpc",
    peer: stream.session?.socket?.remoteAddress,
    // A request that ended with its headers (no message): Bun emits the stream's 'end' at once, before
    // anyone listens, and the call would wait for it until its deadline. An empty body ends when read.
    body: stream.endAfterHeaders ? Readable.from([]) : stream,
    get finished() {
      return finished;
    },
    sendHeaders(h) {
      if (headersSent || stream.destroyed) return;
      headersSent = true;
      heldHeaders = h;
      schedule();
    },
    write(chunk) {
      if (stream.destroyed) return true;
      held.push(chunk);
      schedule();
      return stream.writableLength < HIGH_WATER;
    },
    onDrain(listener) {
      stream.once("drain", listener);
    },
    finish(trailers) {
      if (finished) return;
      finished = true;
      if (stream.destroyed) return;
      if (!headersSent) {
        // Trailers-only response: status travels in the single HEADERS frame.
        headersSent = true;
        stream.respond({ ":status": 200, "content-type": "application/grpc", ...trailers }, { endStream: true });
        stopReading();
        return;
      }
      release();
      pendingTrailers = trailers;
      stream.end();
    },
    onCancel(listener) {
      cancelListeners.push(listener);
    },
  };
}
