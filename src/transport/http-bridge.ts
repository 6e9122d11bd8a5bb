/**
 * Runs a fetch-style handler (the hono app) on node:http and node:http2 requests. Plain HTTP endpoints take
 * no large bodies: one over `max_http_body_bytes` is answered 413 and not read further (transport/limits.ts).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import http2, { type IncomingHttpHeaders, type ServerHttp2Stream } from "node:http2";
import type { Readable } from "node:stream";
import { httpBodyTooLarge } from "../core/messages/limits.ts";

export type FetchHandler = (request: Request) => Response | Promise<Response>;

const TOO_LARGE = Symbol("too large");

/**
 * The whole body, or TOO_LARGE as soon as it passes `max`: then the stream is paused, not destroyed, since
 * destroying a request takes its connection (HTTP/1.1) or stream (HTTP/2) and the 413 with it.
 */
function readBody(
  body: Readable,
  declared: string | string[] | undefined,
  max: number,
): Promise<Buffer | undefined | typeof TOO_LARGE> {
  if (typeof declared === "string" && Number(declared) > max) return Promise.resolve(TOO_LARGE);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = () => {
      body.off("data", onData).off("end", onEnd).off("error", onGone).off("close", onGone);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= max) return void chunks.push(chunk);
      stop();
      body.pause();
      resolve(TOO_LARGE);
    };
    const onEnd = () => {
      stop();
      resolve(chunks.length ? Buffer.concat(chunks) : undefined);
    };
    const onGone = (err?: Error) => {
      stop();
      reject(err ?? new Error("the client closed the request before its body ended"));
    };
    body.on("data", onData).once("end", onEnd).once("error", onGone).once("close", onGone);
  });
}

const plainText = { "content-type": "text/plain; charset=utf-8" };

function toRequest(
  method: string,
  url: string,
  headers: Record<string, string | string[] | undefined>,
  body: Buffer | undefined,
): Request {
  const h = new Headers();
  for (const [k, v] of Object.entries(headers)) {
    if (k.startsWith(":") || v === undefined) continue;
    for (const item of Array.isArray(v) ? v : [v]) h.append(k, item);
  }
  return new Request(url, {
    method,
    headers: h,
    ...(body && method !== "GET" && method !== "HEAD" ? { body: new Uint8Array(body) } : {}),
  });
}

export async function serveHttp1(
  handler: FetchHandler,
  req: IncomingMessage,
  res: ServerResponse,
  maxBody: number,
): Promise<void> {
  const method = req.method ?? "GET";
  const body =
    method === "GET" || method === "HEAD" ? undefined : await readBody(req, req.headers["content-length"], maxBody);
  if (body === TOO_LARGE) {
    // The listener's guard then drops the rest for a moment and closes the connection (transport/limits.ts).
    res.writeHead(413, { ...plainText, connection: "close" }).end(`${httpBodyTooLarge(maxBody)}\n`);
    return;
  }
  const response = await handler(
    toRequest(method, `http://${req.headers.host ?? "localhost"}${req.url ?? "/"}`, req.headers, body),
  );
  const headers: Record<string, string> = {};
  response.headers.forEach((v, k) => {
    headers[k] = v;
  });
  res.writeHead(response.status, headers);
  res.end(method === "HEAD" ? undefined : Buffer.from(await response.arrayBuffer()));
}

export async function serveHttp2(
  handler: FetchHandler,
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  maxBody: number,
): Promise<void> {
  const method = headers[":method"] ?? "GET";
  const body =
    method === "GET" || method === "HEAD" ? undefined : await readBody(stream, headers["content-length"], maxBody);
  if (body === TOO_LARGE) {
    if (stream.destroyed) return;
    stream.respond({ ":status": 413, ...plainText });
    // RST_STREAM NO_ERROR after the answer: the client stops sending the rest (RFC 9113 §8.1).
    stream.end(`${httpBodyTooLarge(maxBody)}\n`, () => stream.close(http2.constants.NGHTTP2_NO_ERROR));
    return;
  }
  const url = `http://${headers[":authority"] ?? "localhost"}${headers[":path"] ?? "/"}`;
  const response = await handler(toRequest(method, url, headers, body));
  if (stream.destroyed) return;
  const out: Record<string, string | number> = { ":status": response.status };
  response.headers.forEach((v, k) => {
    out[k] = v;
  });
  stream.respond(out);
  stream.end(method === "HEAD" ? undefined : Buffer.from(await response.arrayBuffer()));
}
