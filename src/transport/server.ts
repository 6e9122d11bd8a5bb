/**
 * One listener for everything (protocol/headers.md#one-port): native gRPC over HTTP/2 (h2c, or h2 with TLS), gRPC-Web
 * over HTTP/1.1 and HTTP/2, and plain HTTP for /heartbeat, /encoding, /metrics.
 *
 * Without TLS the first bytes decide: the HTTP/2 connection preface goes to the HTTP/2 server, anything
 * else to the HTTP/1.1 server. With TLS, ALPN decides (h2 or http/1.1).
 */
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import http2, { type IncomingHttpHeaders, type ServerHttp2Stream } from "node:http2";
import net from "node:net";
import tls from "node:tls";
import type { SnetError } from "../core/errors.ts";
import type { CertificateHolder } from "../ops/tls-holder.ts";
import type { ServerCall } from "./call.ts";
import { connectOverHttp1, connectOverHttp2, isConnectUnary } from "./connect-call.ts";
import type { ConnectCodec } from "./connect-codec.ts";
import { preflightHeaders } from "./cors.ts";
import { grpcWebCall, isGrpcWeb } from "./grpc-web-call.ts";
import { type FetchHandler, serveHttp1, serveHttp2 } from "./http-bridge.ts";
import { connectionGuard, DEFAULT_LIMITS, type LimitHit, type ListenerLimits } from "./limits.ts";
import { nativeCall } from "./native-call.ts";
import { adoptSocketsFrom, recycleSessions } from "./runtime.ts";
import type { DaemonMethod } from "./services/method.ts";

export interface ServerHandlers {
  /** The daemon's own methods, by path. */
  methods: ReadonlyMap<string, DaemonMethod>;
  /** Every other gRPC method: payment admission, then the proxy. */
  proxied(call: ServerCall): Promise<void>;
  /** Plain HTTP (hono). */
  http: FetchHandler;
}

export interface ServerOptions {
  host: string;
  port: number;
  /** The certificate to serve, swapped live by file reloads or ACME (src/ops/tls-holder.ts). */
  tls?: CertificateHolder;
  maxMessageBytes: number;
  /** What one client can hold on the port (transport/limits.ts); DEFAULT_LIMITS when absent. */
  limits?: ListenerLimits;
  /** Told of every client cut by a limit. */
  onLimit?: (hit: LimitHit, peer: string) => void;
  handlers: ServerHandlers;
  /** Connect unary calls (JSON or binary POST); absent: such requests are plain HTTP (connect_enabled: false). */
  connect?: ConnectCodec;
  onError?: (err: unknown) => void;
  /** Told of every refusal by one of the daemon's own methods (the client gets the status). */
  onMethodError?: (path: string, err: SnetError) => void;
}

export interface RunningServer {
  readonly port: number;
  inFlight(): number;
  /** Stops accepting, lets in-flight calls finish for up to `drainMs`, then closes every connection. */
  close(drainMs: number): Promise<void>;
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  let inFlight = 0;
  let draining = false;
  const sockets = new Set<net.Socket>();
  const sessions = new Set<http2.ServerHttp2Session>();
  const report = opts.onError ?? (() => {});
  const connect = opts.connect && {
    codec: opts.connect,
    maxMessageBytes: opts.maxMessageBytes,
    ...(opts.onMethodError ? { onRefused: opts.onMethodError } : {}),
  };
  const limits = opts.limits ?? DEFAULT_LIMITS;
  const guard = connectionGuard(limits, opts.onLimit);

  const runCall = (call: ServerCall) => {
    inFlight++;
    const method = opts.handlers.methods.get(call.path);
    const done = method ? method.serve(call, opts.maxMessageBytes, opts.onMethodError) : opts.handlers.proxied(call);
    done.catch(report).finally(() => inFlight--);
  };

  const onStream = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, raw: string[]) => {
    if (!guard.stream(stream)) return;
    const contentType = headers["content-type"];
    const method = headers[":method"];
    if (method === "OPTIONS") {
      stream.respond({ ":status": 204, ...preflightHeaders(headers) }, { endStream: true });
    } else if (isGrpcWeb(contentType)) {
      runCall(
        grpcWebCall({
          path: headers[":path"] ?? "",
          peer: stream.session?.socket?.remoteAddress,
          contentType: contentType as string,
          rawHeaders: raw,
          headers,
          body: stream,
          res: {
            writeHead: (h) => stream.respond({ ...h, ":status": 200 }),
            write: (c) => stream.write(c),
            end: () => stream.end(),
            onDrain: (l) => stream.once("drain", l),
            onClose: (l) => stream.once("close", l),
          },
        }),
      );
    } else if (contentType?.startsWith("application/grpc")) {
      runCall(nativeCall(stream, headers, raw));
    } else if (connect && isConnectUnary(method, headers[":path"], contentType)) {
      connectOverHttp2(stream, headers, raw, connect, runCall).catch(report);
    } else {
      serveHttp2(opts.handlers.http, stream, headers, limits.maxHttpBodyBytes).catch(report);
    }
    stream.on("error", () => {});
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    guard.request(req, res);
    const contentType = req.headers["content-type"];
    if (req.method === "OPTIONS") {
      res.writeHead(204, preflightHeaders(req.headers)).end();
    } else if (req.method === "POST" && isGrpcWeb(contentType)) {
      runCall(
        grpcWebCall({
          path: (req.url ?? "").split("?")[0] as string,
          peer: req.socket.remoteAddress,
          contentType: contentType as string,
          rawHeaders: req.rawHeaders,
          headers: req.headers,
          body: req,
          res: {
            writeHead: (h) => res.writeHead(200, h),
            write: (c) => res.write(c),
            end: () => res.end(),
            onDrain: (l) => res.once("drain", l),
            onClose: (l) => res.once("close", l),
          },
        }),
      );
    } else if (connect && isConnectUnary(req.method, req.url, contentType)) {
      connectOverHttp1(req, res, connect, runCall).catch(report);
    } else {
      serveHttp1(opts.handlers.http, req, res, limits.maxHttpBodyBytes).catch((err) => {
        report(err);
        if (!res.headersSent) res.writeHead(500).end();
      });
    }
  };

  const h2Options = {
    settings: { initialWindowSize: 4 * 1024 * 1024, ...guard.http2Settings },
    maxSessionMemory: 64,
  };
  const h1 = http.createServer({ keepAlive: true, ...guard.http1Options }, onRequest);
  // One plain HTTP/2 server for h2c and h2: a secure server with allowHTTP1 would need a 'request'
  // listener, which turns on node's compat layer for every HTTP/2 stream, and its 'wantTrailers'
  // handler sends empty trailers before ours (grpc-status lost).
  const h2 = http2.createServer(h2Options);
  let listener: net.Server;
  let detachTls: (() => void) | undefined;
  if (opts.tls) {
    const secure = tls.createServer(
      { ...opts.tls.serverOptions(), ALPNProtocols: ["h2", "http/1.1"] },
      // ALPN decides; a client that negotiated nothing speaks HTTP/1.1.
      (socket) => (socket.alpnProtocol === "h2" ? h2 : h1).emit("connection", socket),
    );
    // Handshakes without SNI use the server's default context: keep it on the holder's current pair.
    detachTls = opts.tls.attach(secure);
    listener = secure;
  } else {
    listener = net.createServer((socket) => {
      if (socket.destroyed) return; // refused by the guard (the 'connection' listener below runs first)
      const sniff = () => {
        // "PRI" starts the HTTP/2 preface and is no HTTP/1.1 method; three bytes decide.
        if (socket.readableLength < 3 && !socket.readableEnded) return void socket.once("readable", sniff);
        const head = socket.read(Math.min(socket.readableLength, 3)) as Buffer | null;
        if (!head) return void socket.destroy();
        socket.unshift(head);
        (head.toString("latin1") === "PRI" ? h2 : h1).emit("connection", socket);
      };
      socket.once("readable", sniff);
    });
  }
  guard.watch(h1, h2);
  adoptSocketsFrom(h1, () => !draining && listener.listening);
  recycleSessions(h2);
  h2.on("stream", onStream);
  h2.on("session", (s) => {
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
    s.on("error", () => {});
    if (draining) s.close();
  });
  listener.prependListener("connection", (socket: net.Socket) => {
    if (!guard.admit(socket)) return;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
  });

  await new Promise<void>((resolve, reject) => {
    listener.once("error", reject);
    listener.listen(opts.port, opts.host, () => resolve());
  });
  listener.on("error", report);
  const port = (listener.address() as net.AddressInfo).port;

  return {
    port,
    inFlight: () => inFlight,
    async close(drainMs) {
      draining = true;
      detachTls?.();
      listener.close();
      for (const s of sessions) s.close();
      h1.closeIdleConnections?.();
      const deadline = Date.now() + drainMs;
      while (inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      for (const s of sockets) s.destroy();
    },
  };
}
