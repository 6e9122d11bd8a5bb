/** ServerCall over a native gRPC HTTP/2 stream (h2c or h2 with TLS). */
import type { IncomingHttpHeaders, ServerHttp2Stream } from "node:http2";
import type { HeaderMap, ServerCall } from "./call.ts";
import { parseGrpcTimeout } from "./grpc-frames.ts";
import { metadataFromRaw } from "./metadata.ts";

export function nativeCall(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, rawHeaders: string[]): ServerCall {
  let headersSent = false;
  let finished = false;
  let pendingTrailers: HeaderMap | undefined;
  const cancelListeners: (() => void)[] = [];

  stream.on("wantTrailers", () => {
    if (stream.destroyed) return;
    stream.sendTrailers((pendingTrailers ?? { "grpc-status": "0" }) as Record<string, string>);
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
    body: stream,
    get finished() {
      return finished;
    },
    sendHeaders(h) {
      if (headersSent || stream.destroyed) return;
      headersSent = true;
      stream.respond({ ...h, ":status": 200 }, { waitForTrailers: true });
    },
    write(chunk) {
      if (stream.destroyed) return true;
      return stream.write(chunk);
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
        return;
      }
      pendingTrailers = trailers;
      stream.end();
    },
    onCancel(listener) {
      cancelListeners.push(listener);
    },
  };
}
