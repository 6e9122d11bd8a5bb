/**
 * One etcd member's HTTP/2 session: connected on first use, shared by every request to that member,
 * replaced after it dies, and pinged while streams are open so a member that went silent is noticed
 * (protocol/config.md#etcd-member: keep-alive 10 s, timeout 3 s). Nothing is written to a session before the member has
 * answered with its HTTP/2 SETTINGS, so a failure to connect proves that no request reached the member.
 */
import http2, { type ClientHttp2Session, type ClientHttp2Stream, type OutgoingHttpHeaders } from "node:http2";
import { EtcdRequestError, errnoOf } from "./etcd-errors.ts";

/** Certificates for https endpoints, already read from disk. */
export interface TlsMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  /** Name expected in the server certificate instead of the endpoint's host. */
  serverName?: string;
}

export interface KeepaliveOptions {
  /** Ping a session with open streams this often. Default 10 000. */
  intervalMs?: number;
  /** Close the session when a ping is not answered within this. Default 3 000. */
  timeoutMs?: number;
}

/** The HTTP/2 session to one member. */
export interface MemberConnection {
  /** The endpoint as configured, e.g. "http://127.0.0.1:2379". */
  readonly endpoint: string;
  /** The connected session, if there is one now: the hot path, with no promise in between. */
  ready(): ClientHttp2Session | undefined;
  /** A connected session; rejects with an EtcdRequestError whose `sent` is false when none is established within `timeoutMs`. */
  connect(timeoutMs: number): Promise<ClientHttp2Session>;
  /** Opens a stream on `session`, counted so that keep-alive pings run only while streams are open. */
  request(session: ClientHttp2Session, headers: OutgoingHttpHeaders): ClientHttp2Stream;
  close(): void;
}

/** Flow-control window for responses: a page of 500 records should not crawl through 64 KiB windows. */
const WINDOW_BYTES = 1024 * 1024;

/** The connection to the member at `endpoint` (`http://` for h2c, `https://` with `tls`). */
export function memberConnection(
  endpoint: string,
  tls: TlsMaterial | undefined,
  keepalive: KeepaliveOptions = {},
): MemberConnection {
  const url = new URL(endpoint);
  const authority = `${url.protocol}//${url.host}`;
  const pingEveryMs = keepalive.intervalMs ?? 10_000;
  const pingTimeoutMs = keepalive.timeoutMs ?? 3_000;
  let session: ClientHttp2Session | undefined;
  let connected = false;
  let connecting: Promise<ClientHttp2Session> | undefined;
  let open = 0;
  let closed = false;

  const notConnected = (message: string, cause?: unknown) => {
    const errno = errnoOf(cause);
    return new EtcdRequestError(
      message,
      { endpoint, sent: false, ...(errno ? { errno } : {}) },
      cause === undefined ? {} : { cause },
    );
  };

  const start = (timeoutMs: number): Promise<ClientHttp2Session> => {
    const s = http2.connect(authority, {
      settings: { initialWindowSize: WINDOW_BYTES },
      ...(url.protocol === "https:" && tls
        ? {
            ...(tls.ca ? { ca: tls.ca } : {}),
            ...(tls.cert ? { cert: tls.cert } : {}),
            ...(tls.key ? { key: tls.key } : {}),
            ...(tls.serverName ? { servername: tls.serverName } : {}),
          }
        : {}),
    });
    session = s;
    connected = false;
    let pinger: ReturnType<typeof setInterval> | undefined;
    const forget = () => {
      clearInterval(pinger);
      if (session === s) {
        session = undefined;
        connected = false;
      }
    };
    s.on("close", forget);
    s.on("goaway", forget);
    // A session error also destroys its streams, which report it; here it only must not be unhandled.
    s.on("error", forget);
    return new Promise<ClientHttp2Session>((resolve, reject) => {
      const timer = setTimeout(() => {
        s.destroy();
        reject(notConnected(`no connection to "${endpoint}" within ${timeoutMs} ms`));
      }, timeoutMs);
      // Connected means the member has spoken HTTP/2 (its SETTINGS arrived), not just that a socket opened:
      // a hung process still accepts TCP connections, and a request written to it has an unknown fate.
      let socketUp = false;
      let settingsIn = false;
      const up = () => {
        if (!socketUp || !settingsIn) return;
        clearTimeout(timer);
        if (closed || session !== s) {
          s.destroy();
          reject(notConnected(`the connection to "${endpoint}" was closed while connecting`));
          return;
        }
        connected = true;
        s.setLocalWindowSize?.(WINDOW_BYTES);
        pinger = setInterval(() => ping(s), pingEveryMs);
        pinger.unref?.();
        resolve(s);
      };
      s.once("connect", () => {
        socketUp = true;
        up();
      });
      s.once("remoteSettings", () => {
        settingsIn = true;
        up();
      });
      s.once("error", (err) => {
        clearTimeout(timer);
        reject(notConnected(`cannot connect to "${endpoint}": ${err.message}`, err));
      });
      // Settles nothing once connected; before that, a close without an error is a refusal too.
      s.once("close", () => {
        clearTimeout(timer);
        reject(notConnected(`"${endpoint}" closed the connection before it was established`));
      });
    }).finally(() => {
      connecting = undefined;
    });
  };

  /** A ping not acknowledged in time means the member or the path to it is gone: drop the session. */
  const ping = (s: ClientHttp2Session) => {
    if (open === 0 || s.destroyed) return;
    const timer = setTimeout(
      () => s.destroy(new Error(`"${endpoint}" did not answer a keep-alive ping within ${pingTimeoutMs} ms`)),
      pingTimeoutMs,
    );
    try {
      s.ping((err) => {
        clearTimeout(timer);
        if (err && !s.destroyed) s.destroy(err);
      });
    } catch (err) {
      clearTimeout(timer);
      s.destroy(err as Error);
    }
  };

  return {
    endpoint,
    ready: () => (connected && session && !session.destroyed && !session.closed ? session : undefined),
    connect(timeoutMs) {
      if (closed) return Promise.reject(notConnected(`the connection to "${endpoint}" is closed`));
      const s = this.ready();
      if (s) return Promise.resolve(s);
      connecting ??= start(timeoutMs);
      return connecting;
    },
    request(s, headers) {
      const stream = s.request(headers);
      open++;
      stream.once("close", () => open--);
      return stream;
    },
    close() {
      closed = true;
      session?.destroy();
      session = undefined;
      connected = false;
    },
  };
}
