/**
 * Connect unary calls (docs/protocol/headers.md#connect): POST /<package>.<Service>/<Method> with a JSON
 * (`application/json`) or binary (`application/proto`) body and the call's metadata — payment headers
 * included — as HTTP headers, so `curl` or `fetch` can call a service with no SDK. The body is read whole
 * (within max_message_size_in_mb), becomes one gRPC frame, and is served as a ServerCall like gRPC and
 * gRPC-Web calls (payment gate, proxy, the daemon's own methods); what the call answers becomes one
 * Connect response (connect-response.ts).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { IncomingHttpHeaders, ServerHttp2Stream } from "node:http2";
import { PassThrough, type Readable } from "node:stream";
import { gunzipSync } from "node:zlib";
import { type SnetError, toSnetError } from "../core/errors.ts";
import { encodeFrame, FRAME_HEADER } from "../core/grpc-frames.ts";
import {
  badConnectTimeout,
  badConnectVersion,
  connectBodyTooLarge,
  connectBodyUndecompressable,
  connectEncodingUnsupported,
  connectMethodStreaming,
  connectMethodUnknown,
  jsonUnavailable,
} from "../core/messages/connect.ts";
import { cancelledByClient, clientMessageTooLarge } from "../core/messages/service.ts";
import type { HeaderMap, ServerCall } from "./call.ts";
import { type ConnectCodec, jsonToBinary } from "./connect-codec.ts";
import {
  connectErrorReply,
  connectReply,
  type GrpcOutcome,
  type HttpReply,
  type ReplyFormat,
} from "./connect-response.ts";
import { corsHeaders } from "./cors.ts";
import { BROWSER_HEADERS } from "./grpc-web-call.ts";
import { metadataFromRaw } from "./metadata.ts";

export interface ConnectSettings {
  readonly codec: ConnectCodec;
  readonly maxMessageBytes: number;
  /** Told of every call refused before it became a ServerCall (the client gets the Connect error). */
  readonly onRefused?: (path: string, err: SnetError) => void;
}

/** The HTTP side of one Connect request, whatever HTTP version carried it. */
export interface ConnectRequest {
  readonly path: string;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly rawHeaders: readonly string[];
  readonly body: Readable;
  /** The client's IP address (limits per address). */
  readonly peer: string | undefined;
  /** Sends the whole response: status, headers, body. */
  respond(reply: HttpReply): void;
  /** The client went away (or the response is done). */
  onClose(listener: () => void): void;
}

/** First path segments of the plain HTTP endpoints (http-app.ts), which take any method and body. */
const PLAIN_HTTP = new Set(["heartbeat", "encoding", "metrics"]);
/** Connect's own request headers and HTTP plumbing: not call metadata. */
const NOT_METADATA = [
  ...BROWSER_HEADERS,
  "content-type",
  "content-encoding",
  "connect-protocol-version",
  "connect-timeout-ms",
  "expect",
];

const codecOf = (contentType: string): "json" | "proto" | undefined => {
  const base = (contentType.split(";")[0] as string).trim().toLowerCase();
  return base === "application/json" ? "json" : base === "application/proto" ? "proto" : undefined;
};

/** Whether a request is a Connect unary call: POST of a JSON or proto body to /<service>/<method>, not a plain HTTP endpoint. */
export function isConnectUnary(
  method: string | undefined,
  path: string | undefined,
  contentType: string | undefined,
): boolean {
  if (method !== "POST" || !path || !contentType || !codecOf(contentType)) return false;
  const parts = (path.split("?")[0] as string).split("/");
  return (
    parts.length === 3 && parts[0] === "" && parts[1] !== "" && parts[2] !== "" && !PLAIN_HTTP.has(parts[1] as string)
  );
}

/** A Connect call on node:http (HTTP/1.1). */
export function connectOverHttp1(
  req: IncomingMessage,
  res: ServerResponse,
  s: ConnectSettings,
  run: (call: ServerCall) => void,
): Promise<void> {
  return serveConnect(
    {
      path: (req.url ?? "").split("?")[0] as string,
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      body: req,
      peer: req.socket.remoteAddress,
      respond: (r) => res.writeHead(r.status, { ...r.headers, "content-length": String(r.body.length) }).end(r.body),
      onClose: (l) => res.once("close", l),
    },
    s,
    run,
  );
}

/** A Connect call on an HTTP/2 stream (h2c or h2). */
export function connectOverHttp2(
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  rawHeaders: string[],
  s: ConnectSettings,
  run: (call: ServerCall) => void,
): Promise<void> {
  return serveConnect(
    {
      path: (headers[":path"] ?? "").split("?")[0] as string,
      headers,
      rawHeaders,
      body: stream,
      peer: stream.session?.socket?.remoteAddress,
      respond: (r) => {
        if (stream.destroyed) return;
        stream.respond({ ":status": r.status, ...r.headers, "content-length": String(r.body.length) });
        stream.end(r.body);
      },
      onClose: (l) => stream.once("close", l),
    },
    s,
    run,
  );
}

/** Checks and reads one Connect request, then runs it as a ServerCall; a refusal is answered here. */
export async function serveConnect(
  req: ConnectRequest,
  s: ConnectSettings,
  run: (call: ServerCall) => void,
): Promise<void> {
  const header = (name: string) => {
    const v = req.headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const origin = header("origin");
  const json = codecOf(header("content-type") ?? "") === "json";
  let call: ServerCall;
  try {
    const version = header("connect-protocol-version");
    if (version !== undefined && version.trim() !== "1") throw badConnectVersion(version);
    const timeoutMs = connectTimeout(header("connect-timeout-ms"));
    const encoding = (header("content-encoding") ?? "identity").trim().toLowerCase();
    if (encoding !== "identity" && encoding !== "gzip") throw connectEncodingUnsupported(encoding);
    // The method is known before the body is read: a call that cannot be served costs no upload.
    const types = s.codec.types(req.path);
    if (types && types.kind !== "unary") throw connectMethodStreaming(req.path, types.kind);
    if (json && !types)
      throw s.codec.jsonUnavailable ? jsonUnavailable(s.codec.jsonUnavailable) : connectMethodUnknown(req.path);
    const body = await readBody(req, s.maxMessageBytes, encoding === "gzip");
    const message = json && types ? jsonToBinary(req.path, types.input, body, s.codec.registry) : body;
    const format: ReplyFormat = {
      path: req.path,
      maxMessageBytes: s.maxMessageBytes,
      ...(json && types ? { json: { output: types.output, registry: s.codec.registry } } : {}),
    };
    call = connectCall(req, { message, timeoutMs, format, origin });
  } catch (err) {
    const e = toSnetError(err);
    s.onRefused?.(req.path, e);
    req.body.resume();
    req.respond(withCors(connectErrorReply(e), origin));
    return;
  }
  run(call);
}

/** `connect-timeout-ms`: 1 to 10 digits; undefined when absent (no deadline from the client). */
function connectTimeout(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (!/^\d{1,10}$/.test(text) || Number(text) === 0) throw badConnectTimeout(value);
  return Number(text);
}

/**
 * The whole request body, refused as soon as it passes the size limit (the rest is drained, not
 * buffered). Events rather than `for await`: leaving that loop early would destroy the request, and
 * with it the response.
 */
function readBody(req: ConnectRequest, max: number, gzip: boolean): Promise<Uint8Array> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > max) return Promise.reject(clientMessageTooLarge(declared, max));
  return new Promise<Uint8Array>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= max) return void chunks.push(chunk);
      req.body.off("data", onData);
      reject(clientMessageTooLarge(size, max));
    };
    req.body.on("data", onData);
    req.body.once("error", () => reject(cancelledByClient()));
    req.body.once("close", () => reject(cancelledByClient()));
    req.body.once("end", () => {
      const raw = Buffer.concat(chunks);
      // Zero bytes are never decompressed (the Connect protocol says so): they are the empty message.
      if (!gzip || raw.length === 0) return resolve(raw);
      try {
        resolve(gunzipSync(raw, { maxOutputLength: max }));
      } catch (err) {
        const tooLarge = (err as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE";
        reject(tooLarge ? connectBodyTooLarge(max) : connectBodyUndecompressable((err as Error).message));
      }
    });
  });
}

/** The response's CORS headers, exposing its metadata (`trailer-…` and the service's headers) to the page. */
function withCors(reply: HttpReply, origin: string | undefined): HttpReply {
  const exposed = Object.keys(reply.headers).filter((k) => k !== "content-type");
  return { ...reply, headers: { ...reply.headers, ...corsHeaders(origin, exposed) } };
}

/** The ServerCall of a checked request: one frame in; headers, frames and trailers collected into one response. */
function connectCall(
  req: ConnectRequest,
  o: { message: Uint8Array; timeoutMs: number | undefined; format: ReplyFormat; origin: string | undefined },
): ServerCall {
  const metadata = metadataFromRaw(req.rawHeaders);
  for (const k of NOT_METADATA) metadata.delete(k);
  const body = new PassThrough();
  body.end(encodeFrame(o.message));
  let headers: HeaderMap = {};
  let headersSent = false;
  const frames: Uint8Array[] = [];
  let size = 0;
  // One message of at most the limit fits; more bytes mean more messages, which a unary reply cannot carry.
  let overflow = false;
  let finished = false;
  const cancelListeners: (() => void)[] = [];
  req.onClose(() => {
    if (finished) return;
    finished = true;
    for (const l of cancelListeners) l();
  });

  return {
    path: req.path,
    metadata,
    timeoutMs: o.timeoutMs,
    protocol: "connect",
    peer: req.peer,
    body,
    get finished() {
      return finished;
    },
    sendHeaders(h) {
      if (headersSent) return;
      headersSent = true;
      headers = h;
    },
    write(chunk) {
      if (overflow) return true;
      size += chunk.length;
      if (size > o.format.maxMessageBytes + FRAME_HEADER) {
        overflow = true;
        frames.length = 0;
      } else {
        frames.push(chunk);
      }
      return true;
    },
    onDrain() {
      // write() never asks to wait: the reply is collected, not streamed.
    },
    finish(trailers) {
      if (finished) return;
      finished = true;
      const outcome: GrpcOutcome = {
        headers,
        frames: Buffer.concat(frames),
        trailers,
        ...(overflow ? { tooManyMessages: true } : {}),
      };
      req.respond(withCors(connectReply(outcome, o.format), o.origin));
    },
    onCancel(listener) {
      cancelListeners.push(listener);
    },
  };
}
