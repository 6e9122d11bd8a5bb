/**
 * The one place the transport adapts to the runtime it runs on. Bun and Deno both provide node:http and
 * node:http2, and the listener (server.ts) and proxy (proxy.ts) use only those, so the same code serves
 * under either; what differs is worked around here, and only on the runtime that needs it.
 *
 * Deno 2.9, HTTP/1.1: its node:http server ends a kept-alive connection after the first response
 * whenever the server object is not itself listening (`resOnFinish` destroys the socket;
 * denoland/deno#35609). Ours never listens: the sniffing listener (or TLS with ALPN) hands it each
 * HTTP/1.1 socket. So under Deno it reports the real listener's state: connections stay open between
 * requests, and once draining starts each one closes after its response.
 *
 * Deno 2.9, HTTP/2: once a client's connection has carried about a hundred streams, the GOAWAY that
 * ends it (the client closing its channel, or the daemon stopping) aborts the whole process inside
 * nghttp2 (`find_stream_on_goaway_func: Assertion 'stream->closed_next == NULL' failed`;
 * denoland/deno#36788). tests/deno/daemon.test.ts reproduces it with 150 calls on one connection. Under
 * Deno each connection is therefore closed gracefully after STREAMS_PER_SESSION streams: the calls in
 * flight finish, and the client opens a new connection for the next ones (any HTTP/2 client does, as
 * it does for servers that limit a connection's age).
 */
import type http from "node:http";
import type http2 from "node:http2";

export type RuntimeName = "bun" | "deno" | "node";

/** Streams one inbound HTTP/2 connection carries under Deno before the daemon closes it gracefully. */
export const STREAMS_PER_SESSION = 64;

/** Which runtime runs this process. */
export function runtime(): RuntimeName {
  const versions = process.versions as Record<string, string | undefined>;
  if (versions.bun) return "bun";
  if (versions.deno) return "deno";
  return "node";
}

/**
 * Makes `server` (fed with sockets by another listener, never listening itself) keep HTTP/1.1
 * connections alive while `accepting()` says so. A no-op where the runtime needs no help.
 */
export function adoptSocketsFrom(server: http.Server, accepting: () => boolean): void {
  if (runtime() !== "deno") return;
  Object.defineProperty(server, "listening", { configurable: true, get: accepting });
}

/** Under Deno, closes each inbound HTTP/2 session gracefully once it has carried STREAMS_PER_SESSION streams. */
export function recycleSessions(server: http2.Http2Server): void {
  if (runtime() !== "deno") return;
  const carried = new WeakMap<http2.Http2Session, number>();
  server.on("stream", (stream: http2.ServerHttp2Stream) => {
    const session = stream.session;
    if (!session) return;
    const count = (carried.get(session) ?? 0) + 1;
    carried.set(session, count);
    // This stream and the others in flight finish; new ones go to a new connection.
    if (count === STREAMS_PER_SESSION) session.close();
  });
}
