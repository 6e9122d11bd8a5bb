/**
 * ServerCall for gRPC-Web (binary and `-text`), over HTTP/1.1 or HTTP/2. The body frames are the same as
 * gRPC's; trailers travel as a last frame flagged 0x80 (protocol/headers.md#grpc-web). Text mode is base64 both ways,
 * encoded in 3-byte groups so the whole response is one valid base64 string however it is chunked.
 */
import { type Readable, Transform } from "node:stream";
import { encodeFrame, parseGrpcTimeout, TRAILER_FLAG } from "../core/grpc-frames.ts";
import type { HeaderMap, ServerCall } from "./call.ts";
import { corsHeaders } from "./cors.ts";
import { metadataFromRaw } from "./metadata.ts";

/** The minimal HTTP response surface shared by node:http's ServerResponse and an HTTP/2 stream. */
export interface HttpResponder {
  writeHead(headers: Record<string, string | string[]>): void;
  write(chunk: Uint8Array): boolean;
  end(): void;
  onDrain(listener: () => void): void;
  onClose(listener: () => void): void;
}

/** Request headers a browser adds that are not call metadata. */
export const BROWSER_HEADERS = [
  "x-grpc-web",
  "x-user-agent",
  "origin",
  "referer",
  "accept",
  "accept-encoding",
  "accept-language",
  "sec-fetch-mode",
  "sec-fetch-site",
  "sec-fetch-dest",
];

export function isGrpcWeb(contentType: string | undefined): boolean {
  return !!contentType && contentType.startsWith("application/grpc-web");
}

function base64Decoder(): Transform {
  let carry = "";
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      const text = carry + chunk.toString("latin1").replace(/\s+/g, "");
      const usable = text.length - (text.length % 4);
      carry = text.slice(usable);
      done(null, Buffer.from(text.slice(0, usable), "base64"));
    },
    flush(done) {
      done(null, carry ? Buffer.from(carry, "base64") : undefined);
    },
  });
}

export function grpcWebCall(opts: {
  path: string;
  peer?: string | undefined;
  contentType: string;
  rawHeaders: string[];
  headers: Record<string, string | string[] | undefined>;
  body: Readable;
  res: HttpResponder;
}): ServerCall {
  const text = opts.contentType.startsWith("application/grpc-web-text");
  const replyType = text ? "application/grpc-web-text+proto" : "application/grpc-web+proto";
  const origin = opts.headers.origin as string | undefined;
  const metadata = metadataFromRaw(opts.rawHeaders);
  // Browser plumbing, not call metadata.
  for (const k of BROWSER_HEADERS) metadata.delete(k);
  let headersSent = false;
  let finished = false;
  let carry: Uint8Array = new Uint8Array(0);
  const cancelListeners: (() => void)[] = [];

  const emit = (bytes: Uint8Array, final = false): boolean => {
    if (!text) return opts.res.write(bytes);
    const all = carry.length ? Buffer.concat([carry, bytes]) : Buffer.from(bytes);
    const usable = final ? all.length : all.length - (all.length % 3);
    carry = all.subarray(usable);
    return usable > 0 ? opts.res.write(Buffer.from(all.subarray(0, usable).toString("base64"), "latin1")) : true;
  };
  const ensureHeaders = (h: HeaderMap = {}) => {
    if (headersSent) return;
    headersSent = true;
    const out: Record<string, string | string[]> = { ...h, ...corsHeaders(origin), "content-type": replyType };
    delete out[":status"];
    opts.res.writeHead(out);
  };
  opts.res.onClose(() => {
    if (!finished) {
      finished = true;
      for (const l of cancelListeners) l();
    }
  });

  return {
    path: opts.path,
    metadata,
    timeoutMs: parseGrpcTimeout(opts.headers["grpc-timeout"] as string | undefined),
    protocol: "grpc-web",
    peer: opts.peer,
    body: text ? opts.body.pipe(base64Decoder()) : opts.body,
    get finished() {
      return finished;
    },
    sendHeaders(h) {
      ensureHeaders(h);
    },
    write(chunk) {
      ensureHeaders();
      return emit(chunk);
    },
    onDrain(listener) {
      opts.res.onDrain(listener);
    },
    finish(trailers) {
      if (finished) return;
      finished = true;
      ensureHeaders();
      let block = "";
      for (const [k, v] of Object.entries(trailers))
        for (const item of Array.isArray(v) ? v : [v]) block += `${k}: ${item}\r\n`;
      emit(encodeFrame(new TextEncoder().encode(block), TRAILER_FLAG), true);
      opts.res.end();
    },
    onCancel(listener) {
      cancelListeners.push(listener);
    },
  };
}
