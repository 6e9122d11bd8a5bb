/**
 * The one place the transport adapts to the runtime it runs on. Bun and Deno both provide node:http and
 * node:http2, and the listener (server.ts) and proxy (proxy.ts) use only those, so the same code serves
 * under either; what differs is worked around here, and only on the runtime that needs it.
 *
 * Deno 2.9: its node:http server ends a kept-alive connection after the first response whenever the
 * server object is not itself listening (`resOnFinish` destroys the socket; denoland/deno#35609). Ours
 * never listens: the sniffing listener (or TLS with ALPN) hands it each HTTP/1.1 socket. So under Deno
 * it reports the real listener's state: connections stay open between requests, and once draining
 * starts each one closes after its response, as a client of a stopping daemon should see.
 */
import type http from "node:http";

export type RuntimeName = "bun" | "deno" | "node";

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
