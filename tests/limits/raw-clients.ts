/**
 * Clients for the limit suites: raw sockets that misbehave on purpose (hand-made HTTP/2 frames, trickled
 * bytes, floods) and small well-behaved ones that can dial from another loopback address (127.0.0.2), which
 * grpc-js cannot, so that a per-address limit on 127.0.0.1 can be seen not to touch them.
 */
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";

export {
  FLAG,
  FRAME,
  type Frame,
  frame,
  goaway,
  grpcHeaders,
  hpack,
  PREFACE,
  parseFrames,
  resets,
} from "./h2-frames.ts";

/** The echo service's unary method (tests/kit/echo.proto). */
export const ECHO = "/example.Echo/Echo";
/** A second loopback address: the kernel routes all of 127/8 to lo, so a client can dial from it. */
export const OTHER_ADDRESS = "127.0.0.2";

export interface RawConnection {
  socket: net.Socket;
  /** Everything the server sent so far. */
  received(): Buffer;
  /** Resolves true once the server closed the connection, false if it is still open after `ms`. */
  closedWithin(ms: number): Promise<boolean>;
  readonly closed: boolean;
  /** Writes unless the connection is gone; false once it is. */
  send(bytes: Buffer | string): boolean;
}

/** A TCP connection to `endpoint` ("host:port") that records what comes back. */
export function rawConnection(endpoint: string, opts: { localAddress?: string } = {}): Promise<RawConnection> {
  const [host, port] = endpoint.split(":") as [string, string];
  const socket = net.connect({
    host,
    port: Number(port),
    ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
  });
  const chunks: Buffer[] = [];
  let closed = false;
  const ended = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  socket.on("data", (d: Buffer) => chunks.push(d));
  socket.on("error", () => {});
  void ended.then(() => (closed = true));
  const conn: RawConnection = {
    socket,
    received: () => Buffer.concat(chunks),
    closedWithin: (ms) =>
      Promise.race([ended.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]),
    get closed() {
      return closed;
    },
    send(bytes) {
      if (closed || socket.destroyed) return false;
      socket.write(bytes);
      return true;
    },
  };
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve(conn));
    socket.once("error", reject);
  });
}

/** The protobuf bytes of example.EchoRequest{text} (field 2, length-delimited). */
export function echoRequest(text: string): Buffer {
  const bytes = Buffer.from(text, "utf8");
  if (bytes.length > 127)
    throw new Error(`Echo text of ${bytes.length} bytes is too long for this encoder; expected at most 127`);
  return Buffer.from([0x12, bytes.length, ...bytes]);
}

/** One gRPC length-prefixed message. */
export function grpcFrame(message: Uint8Array): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

export interface GrpcOutcome {
  status: number | undefined;
  message: string | undefined;
  /** Response body bytes (gRPC frames). */
  body: Buffer;
  /** The stream's RST_STREAM code when the server reset it. */
  rstCode: number | undefined;
  /** Response headers and trailers together. */
  metadata: http2.IncomingHttpHeaders;
}

/** An HTTP/2 connection from `localAddress` (which grpc-js cannot choose); destroy it when done. */
export function h2Session(endpoint: string, localAddress?: string): http2.ClientHttp2Session {
  const [host, port] = endpoint.split(":") as [string, string];
  const session = http2.connect(`http://${endpoint}`, {
    createConnection: () => net.connect({ host, port: Number(port), ...(localAddress ? { localAddress } : {}) }),
  });
  session.on("error", () => {});
  return session;
}

/** One unary gRPC call on an open session. */
export function callOn(
  session: http2.ClientHttp2Session,
  path: string,
  message: Uint8Array,
  metadata: Record<string, string> = {},
): Promise<GrpcOutcome> {
  return new Promise<GrpcOutcome>((resolve) => {
    const req = session.request({
      ":method": "POST",
      ":path": path,
      "content-type": "application/grpc",
      te: "trailers",
      ...metadata,
    });
    const chunks: Buffer[] = [];
    let head: http2.IncomingHttpHeaders = {};
    let tail: http2.IncomingHttpHeaders = {};
    req.on("response", (h) => (head = h));
    req.on("trailers", (t) => (tail = t));
    req.on("data", (d: Buffer) => chunks.push(d));
    req.on("error", () => {});
    req.on("close", () => {
      const all = { ...head, ...tail };
      const status = all["grpc-status"];
      const text = all["grpc-message"];
      resolve({
        status: status === undefined ? undefined : Number(status),
        message: text === undefined ? undefined : decodeURIComponent(String(text)),
        body: Buffer.concat(chunks),
        rstCode: req.rstCode || undefined,
        metadata: all,
      });
    });
    req.end(grpcFrame(message));
  });
}

/** One unary gRPC call on its own connection from `localAddress`. */
export async function grpcCall(
  endpoint: string,
  path: string,
  message: Uint8Array,
  opts: { localAddress?: string; metadata?: Record<string, string> } = {},
): Promise<GrpcOutcome> {
  const session = h2Session(endpoint, opts.localAddress);
  try {
    return await callOn(session, path, message, opts.metadata);
  } finally {
    session.destroy();
  }
}

/** Echo `text` through the daemon from `localAddress`: true when the service's answer came back whole. */
export async function echoes(endpoint: string, text: string, localAddress?: string): Promise<boolean> {
  const r = await grpcCall(endpoint, ECHO, echoRequest(text), localAddress ? { localAddress } : {});
  return r.status === 0 && r.body.includes(Buffer.from(text));
}

export interface HttpOutcome {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One HTTP/1.1 request (own connection) from `localAddress`; `body` may be a stream's worth of chunks. */
export function http1Request(
  endpoint: string,
  o: { method?: string; path: string; headers?: Record<string, string>; body?: Buffer; localAddress?: string },
): Promise<HttpOutcome> {
  const [host, port] = endpoint.split(":") as [string, string];
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host,
        port: Number(port),
        method: o.method ?? "POST",
        path: o.path,
        headers: { connection: "close", ...o.headers },
        agent: false,
        ...(o.localAddress ? { localAddress: o.localAddress } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (d: Buffer) => chunks.push(d));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(o.body);
  });
}

/** gRPC-Web trailers from a response body (binary), e.g. { "grpc-status": "8", "grpc-message": "…" }. */
export function webTrailers(body: Buffer): Record<string, string> {
  let o = 0;
  while (body.length - o >= 5) {
    const flag = body[o] as number;
    const length = body.readUInt32BE(o + 1);
    if (flag & 0x80) {
      const out: Record<string, string> = {};
      for (const line of body
        .subarray(o + 5, o + 5 + length)
        .toString("latin1")
        .split("\r\n")) {
        const i = line.indexOf(":");
        if (i > 0) out[line.slice(0, i).trim().toLowerCase()] = decodeURIComponent(line.slice(i + 1).trim());
      }
      return out;
    }
    o += 5 + length;
  }
  return {};
}

/** A deterministic byte source (xorshift32), so a failing garbage run can be replayed from its seed. */
export function randomBytes(seed: number, length: number): Buffer {
  let x = seed >>> 0 || 1;
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
