/**
 * What one client can hold on the daemon port (protocol/operations.md#listener-limits): connections in all and
 * per address, the time from connect to its first complete request (slowloris), idle connections, and the
 * HTTP/1.1 and HTTP/2 settings that bound headers and streams. Body sizes are enforced where bodies are
 * read: the frame watchers for gRPC (max_message_size_in_mb), http-bridge.ts for plain HTTP.
 *
 * One record per TCP connection, made when it is accepted (before TLS and protocol sniffing) and found again
 * from the HTTP/1.1 or HTTP/2 socket by remote address and port, since a TLS socket is another object.
 */
import type http from "node:http";
import http2 from "node:http2";
import type net from "node:net";
import {
  connectionIdle,
  headersTooLarge,
  headersTooSlow,
  malformedHttpRequest,
  noRequestInTime,
} from "../core/messages/limits.ts";

export interface ListenerLimits {
  /** Open connections in all; 0 = unlimited. */
  maxConnections: number;
  /** Open connections from one IP address; 0 = unlimited. */
  maxConnectionsPerAddress: number;
  /** From accept (TLS handshake included) until the first request's headers are complete. */
  headersTimeoutMs: number;
  /** A connection with no call in progress is closed after this; 0 = never. */
  idleTimeoutMs: number;
  /** HTTP/2 streams open at once on one connection; more are refused (REFUSED_STREAM). */
  maxConcurrentStreams: number;
  /** Request headers (HTTP/2 header list, HTTP/1.1 request line and headers), in bytes. */
  maxHeaderListBytes: number;
  /** Body of a plain HTTP request (/heartbeat, /encoding, /metrics). */
  maxHttpBodyBytes: number;
}

/** The config defaults (src/config/limit-keys.ts), for callers that set no limits. */
export const DEFAULT_LIMITS: ListenerLimits = {
  maxConnections: 10_000,
  maxConnectionsPerAddress: 100,
  headersTimeoutMs: 10_000,
  idleTimeoutMs: 300_000,
  maxConcurrentStreams: 250,
  maxHeaderListBytes: 64 * 1024,
  maxHttpBodyBytes: 1024 * 1024,
};

/** Why a client was cut: the config key of the limit, or a request that does not parse. */
export type LimitHit =
  | "max_connections"
  | "max_connections_per_address"
  | "headers_timeout"
  | "idle_timeout"
  | "max_header_list_bytes"
  | "max_concurrent_streams"
  | "malformed_request";

export interface ConnectionGuard {
  /** A new TCP connection; false when a connection limit refused it (it is destroyed already). */
  admit(socket: net.Socket): boolean;
  /** Options for node:http's createServer. */
  readonly http1Options: http.ServerOptions;
  /** Settings the HTTP/2 server advertises (and enforces). */
  readonly http2Settings: http2.Settings;
  /** Follows the HTTP/1.1 and HTTP/2 servers' connections, sessions and parse errors. */
  watch(h1: http.Server, h2: http2.Http2Server): void;
  /** An HTTP/1.1 request started; it ends with its response. */
  request(req: http.IncomingMessage, res: http.ServerResponse): void;
  /** An HTTP/2 stream opened; false when it is one too many for its connection (it is refused already). */
  stream(stream: http2.ServerHttp2Stream): boolean;
  /** Connections open now. */
  open(): number;
}

interface Conn {
  readonly socket: net.Socket;
  readonly address: string;
  /** Requests or streams in progress. */
  active: number;
  /** Had a complete request: a quiet spell from now on is idle time, not header time. */
  served: boolean;
  http1: boolean;
  session?: http2.ServerHttp2Session;
  timer?: ReturnType<typeof setTimeout> | undefined;
}

/** How long a cut connection may take to flush its last words (408, GOAWAY) before it is destroyed. */
const FLUSH_MS = 1000;

/** An IPv4 client on a dual-stack listener appears as ::ffff:a.b.c.d; it is the same address. */
const addressOf = (socket: net.Socket) => (socket.remoteAddress ?? "").replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, "");

/** A plain HTTP/1.1 response that closes the connection. */
function http1Response(status: string, text: string): string {
  const body = `${text}\n`;
  return `HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

/** Ends `socket` with `last` written, destroying it if the peer does not let it close in time. */
function hangUp(socket: net.Socket, last?: string): void {
  if (socket.destroyed) return;
  if (last !== undefined && socket.writable) socket.end(last);
  else socket.destroy();
  setTimeout(() => socket.destroy(), FLUSH_MS).unref?.();
}

/** The guard of one listener; `onLimit` hears every client cut (for logs and metrics). */
export function connectionGuard(
  limits: ListenerLimits,
  onLimit: (hit: LimitHit, peer: string) => void = () => {},
): ConnectionGuard {
  const conns = new Map<string, Conn>();
  const perAddress = new Map<string, number>();
  const keyOf = (s: net.Socket) => `${s.remoteAddress}|${s.remotePort}`;
  const find = (s: net.Socket | undefined) => (s ? conns.get(keyOf(s)) : undefined);

  /** HTTP/2: GOAWAY saying why (no stream processed, so a client may retry anything), then the socket goes. */
  const goAway = (c: Conn, session: http2.ServerHttp2Session, code: number, text: string) => {
    if (!session.destroyed) session.goaway(code, 0, Buffer.from(text));
    setTimeout(() => c.socket.destroy(), FLUSH_MS).unref?.();
  };
  const expire = (c: Conn) => {
    c.timer = undefined;
    if (c.active > 0 || c.socket.destroyed) return;
    if (c.served) {
      onLimit("idle_timeout", c.address);
      if (c.session) goAway(c, c.session, http2.constants.NGHTTP2_NO_ERROR, connectionIdle(limits.idleTimeoutMs));
      else hangUp(c.socket, "");
    } else {
      onLimit("headers_timeout", c.address);
      if (c.session)
        goAway(c, c.session, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM, noRequestInTime(limits.headersTimeoutMs));
      else if (c.http1) hangUp(c.socket, http1Response("408 Request Timeout", headersTooSlow(limits.headersTimeoutMs)));
      // Still in the TLS handshake or before the first three bytes: nothing to answer in.
      else c.socket.destroy();
    }
  };
  const arm = (c: Conn) => {
    clearTimeout(c.timer);
    const ms = c.served ? limits.idleTimeoutMs : limits.headersTimeoutMs;
    c.timer = ms > 0 ? setTimeout(() => expire(c), ms) : undefined;
  };
  const begin = (c: Conn) => {
    c.active++;
    c.served = true;
    clearTimeout(c.timer);
    c.timer = undefined;
  };
  const end = (c: Conn) => {
    c.active--;
    if (c.active === 0 && !c.socket.destroyed) arm(c);
  };

  const refuse = (socket: net.Socket, hit: LimitHit, address: string) => {
    socket.destroy();
    onLimit(hit, address);
    return false;
  };

  return {
    admit(socket) {
      const address = addressOf(socket);
      // Gone before it was seen (the peer reset at once): nothing to count or refuse.
      if (!address || socket.destroyed) {
        socket.destroy();
        return false;
      }
      const fromAddress = perAddress.get(address) ?? 0;
      if (limits.maxConnections > 0 && conns.size >= limits.maxConnections)
        return refuse(socket, "max_connections", address);
      if (limits.maxConnectionsPerAddress > 0 && fromAddress >= limits.maxConnectionsPerAddress)
        return refuse(socket, "max_connections_per_address", address);
      const key = keyOf(socket);
      const c: Conn = { socket, address, active: 0, served: false, http1: false };
      conns.set(key, c);
      perAddress.set(address, fromAddress + 1);
      socket.once("close", () => {
        clearTimeout(c.timer);
        if (conns.get(key) === c) conns.delete(key);
        const left = (perAddress.get(address) ?? 1) - 1;
        if (left > 0) perAddress.set(address, left);
        else perAddress.delete(address);
      });
      arm(c);
      return true;
    },
    http1Options: { maxHeaderSize: limits.maxHeaderListBytes },
    http2Settings: { maxConcurrentStreams: limits.maxConcurrentStreams, maxHeaderListSize: limits.maxHeaderListBytes },
    watch(h1, h2) {
      h1.on("connection", (socket: net.Socket) => {
        const c = find(socket);
        if (c) c.http1 = true;
      });
      // With a listener here node:http leaves the answer to us: say what was wrong, then close.
      h1.on("clientError", (err: Error & { code?: string }, socket: net.Socket) => {
        const code = err.code ?? "unknown";
        const peer = addressOf(socket);
        if (code === "HPE_HEADER_OVERFLOW" || code === "HPE_HEADER_FIELDS_TOO_LARGE") {
          onLimit("max_header_list_bytes", peer);
          hangUp(
            socket,
            http1Response("431 Request Header Fields Too Large", headersTooLarge(limits.maxHeaderListBytes)),
          );
        } else if (code === "ECONNRESET" || code === "HPE_INVALID_EOF_STATE" || !socket.writable) {
          socket.destroy(); // the client left mid-request: nobody to answer
        } else {
          onLimit("malformed_request", peer);
          hangUp(socket, http1Response("400 Bad Request", malformedHttpRequest(code)));
        }
      });
      h2.on("session", (session: http2.ServerHttp2Session) => {
        const c = find(session.socket);
        if (c) c.session = session;
      });
    },
    request(req, res) {
      const c = find(req.socket);
      if (!c) return;
      begin(c);
      let ended = false;
      const done = () => {
        if (ended) return;
        ended = true;
        end(c);
        // Answered before the client finished sending (a refusal, a message over the limit): drop the rest
        // for a moment, so the client can read the answer rather than a reset, then close the connection.
        if (!req.complete && !c.socket.destroyed) {
          req.resume();
          setTimeout(() => c.socket.destroy(), FLUSH_MS).unref?.();
        }
      };
      res.once("finish", done);
      res.once("close", done);
    },
    stream(stream) {
      const c = find(stream.session?.socket);
      if (!c) return true;
      // The HTTP/2 server refuses these itself from its SETTINGS; this holds if a runtime does not.
      if (c.active >= limits.maxConcurrentStreams) {
        onLimit("max_concurrent_streams", c.address);
        stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
        return false;
      }
      if (!c.session && stream.session) c.session = stream.session as http2.ServerHttp2Session;
      begin(c);
      stream.once("close", () => end(c));
      return true;
    },
    open: () => conns.size,
  };
}
