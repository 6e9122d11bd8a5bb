/**
 * HTTP-01 challenge answers (RFC 8555 §8.3): the ACME server fetches
 * `http://<domain>/.well-known/acme-challenge/<token>` on port 80 and expects the key authorization as
 * the body. The responder binds `acme_http_port` (80 unless a proxy forwards port 80 elsewhere) on all
 * interfaces, as the reference does; anything else it is asked gets 404 (protocol/operations.md#acme: no redirect to
 * 443, which would point at the wrong port whenever the daemon listens elsewhere).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "./log.ts";

const PREFIX = "/.well-known/acme-challenge/";

export interface ChallengeStore {
  set(token: string, keyAuthorization: string): void;
  delete(token: string): void;
  get(token: string): string | undefined;
}

export function createChallengeStore(): ChallengeStore {
  const tokens = new Map<string, string>();
  return {
    set: (t, k) => void tokens.set(t, k),
    delete: (t) => void tokens.delete(t),
    get: (t) => tokens.get(t),
  };
}

/** The answer to one request, for mounting the challenge path on another server (fetch-style). */
export function challengeResponse(store: ChallengeStore, method: string, path: string): Response {
  const token = path.startsWith(PREFIX) ? decodeURIComponent(path.slice(PREFIX.length).split("?")[0] ?? "") : undefined;
  const answer = token && (method === "GET" || method === "HEAD") ? store.get(token) : undefined;
  if (answer === undefined)
    return new Response("not found\n", { status: 404, headers: { "content-type": "text/plain" } });
  return new Response(method === "HEAD" ? null : answer, {
    status: 200,
    headers: { "content-type": "application/octet-stream" },
  });
}

export interface ChallengeResponder {
  readonly port: number;
  close(): Promise<void>;
}

export interface ChallengeResponderOptions {
  store: ChallengeStore;
  port: number;
  /** Bind address; default all interfaces (the ACME server connects from outside). */
  host?: string;
  log: Logger;
}

/** Listens for HTTP-01 fetches; fails with a message naming the port and the fix if it cannot bind. */
export async function startChallengeResponder(opts: ChallengeResponderOptions): Promise<ChallengeResponder> {
  const server = http.createServer((req, res) => {
    const method = req.method ?? "GET";
    const reply = challengeResponse(opts.store, method, req.url ?? "/");
    if (reply.status === 200)
      opts.log.info("ACME challenge answered", { path: req.url, from: req.socket.remoteAddress });
    void reply.text().then((body) => {
      res.writeHead(reply.status, { "content-type": reply.headers.get("content-type") ?? "text/plain" });
      res.end(method === "HEAD" ? undefined : body);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err) =>
      reject(
        new Error(
          `Unable to bind port "${opts.port}" for ACME HTTP-01 challenges: ${err.message}; ` +
            "let snetd bind it (root or CAP_NET_BIND_SERVICE), or set acme_http_port to where a proxy forwards port 80",
        ),
      ),
    );
    server.listen(opts.port, opts.host ?? "::", () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
