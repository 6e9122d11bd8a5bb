/** Runs a fetch-style handler (the hono app) on node:http and node:http2 requests. */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { IncomingHttpHeaders, ServerHttp2Stream } from "node:http2";
import type { Readable } from "node:stream";

export type FetchHandler = (request: Request) => Response | Promise<Response>;

const MAX_PLAIN_BODY = 1024 * 1024;

async function readBody(body: Readable): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    // Plain HTTP endpoints take no large bodies; stop reading rather than buffer without bound.
    if (size > MAX_PLAIN_BODY) break;
    chunks.push(chunk);
  }
  return chunks.length ? Buffer.concat(chunks) : undefined;
}

function toRequest(method: string, url: string, headers: Record<string, string | string[] | undefined>, body: Buffer | undefined): Request {
  const h = new Headers();
  for (const [k, v] of Object.entries(headers)) {
    if (k.startsWith(":") || v === undefined) continue;
    for (const item of Array.isArray(v) ? v : [v]) h.append(k, item);
  }
  return new Request(url, { method, headers: h, ...(body && method !== "GET" && method !== "HEAD" ? { body: new Uint8Array(body) } : {}) });
}

export async function serveHttp1(handler: FetchHandler, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const method = req.method ?? "GET";
  const body = method === "GET" || method === "HEAD" ? undefined : await readBody(req);
  const response = await handler(toRequest(method, `http://${req.headers.host ?? "localhost"}${req.url ?? "/"}`, req.headers, body));
  const headers: Record<string, string> = {};
  response.headers.forEach((v, k) => (headers[k] = v));
  res.writeHead(response.status, headers);
  res.end(method === "HEAD" ? undefined : Buffer.from(await response.arrayBuffer()));
}

export async function serveHttp2(handler: FetchHandler, stream: ServerHttp2Stream, headers: IncomingHttpHeaders): Promise<void> {
  const method = headers[":method"] ?? "GET";
  const body = method === "GET" || method === "HEAD" ? undefined : await readBody(stream);
  const url = `http://${headers[":authority"] ?? "localhost"}${headers[":path"] ?? "/"}`;
  const response = await handler(toRequest(method, url, headers, body));
  if (stream.destroyed) return;
  const out: Record<string, string | number> = { ":status": response.status };
  response.headers.forEach((v, k) => (out[k] = v));
  stream.respond(out);
  stream.end(method === "HEAD" ? undefined : Buffer.from(await response.arrayBuffer()));
}
