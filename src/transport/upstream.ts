/**
 * The connection to the AI service: one HTTP/2 session, reused by every call, re-established when it
 * dies (GOAWAY, reset, idle close). A state machine so a dead session is never handed out.
 */
import http2, { type ClientHttp2Session } from "node:http2";

type State =
  | { kind: "idle" }
  | { kind: "connecting"; session: ClientHttp2Session; ready: Promise<ClientHttp2Session> }
  | { kind: "ready"; session: ClientHttp2Session }
  | { kind: "closed" };

export interface Upstream {
  readonly url: URL;
  /** A live session, connecting if needed; rejects when the service cannot be reached. */
  session(): Promise<ClientHttp2Session>;
  close(): void;
}

export interface UpstreamOptions {
  /** `http://host:port` (h2c) or `https://host:port` (TLS with system roots). */
  url: string;
  connectTimeoutMs?: number;
  maxMessageBytes: number;
}

export function upstream(opts: UpstreamOptions): Upstream {
  const url = new URL(opts.url);
  const authority = `${url.protocol}//${url.host}`;
  let state: State = { kind: "idle" };

  const connect = (): Promise<ClientHttp2Session> => {
    const session = http2.connect(authority, {
      // Large windows: an 8 MiB message should not crawl through 64 KiB windows.
      settings: { initialWindowSize: 4 * 1024 * 1024, maxHeaderListSize: 64 * 1024 },
    });
    const forget = () => {
      if ((state.kind === "ready" || state.kind === "connecting") && state.session === session)
        state = { kind: "idle" };
    };
    session.on("close", forget);
    session.on("goaway", forget);
    session.on("error", forget);
    const ready = new Promise<ClientHttp2Session>((resolve, reject) => {
      const timer = setTimeout(() => {
        session.destroy();
        reject(new Error(`no answer from ${authority} within ${opts.connectTimeoutMs ?? 5000} ms`));
      }, opts.connectTimeoutMs ?? 5000);
      session.once("connect", () => {
        clearTimeout(timer);
        if (state.kind === "connecting" && state.session === session) state = { kind: "ready", session };
        session.setLocalWindowSize?.(8 * 1024 * 1024);
        resolve(session);
      });
      session.once("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    state = { kind: "connecting", session, ready };
    return ready;
  };

  return {
    url,
    session() {
      switch (state.kind) {
        case "ready":
          if (!state.session.destroyed && !state.session.closed) return Promise.resolve(state.session);
          state = { kind: "idle" };
          return connect();
        case "connecting":
          return state.ready;
        case "idle":
          return connect();
        case "closed":
          return Promise.reject(new Error("the daemon is shutting down"));
      }
    },
    close() {
      if (state.kind === "ready" || state.kind === "connecting") state.session.close();
      state = { kind: "closed" };
    },
  };
}
