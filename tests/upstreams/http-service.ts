/**
 * A real HTTP service for the HTTP and JSON-RPC adapter tests: Bun.serve on 127.0.0.1 that records
 * every request (path, query, headers, body, the client's TCP port) and answers with whatever the
 * test scripted.
 */
import type { Server } from "bun";

export interface SeenRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Headers;
  body: string;
  /** Client socket port: one port per TCP connection. */
  clientPort: number;
}

export type Answer = (req: SeenRequest) => Response | Promise<Response>;

export interface HttpService {
  readonly url: string;
  readonly seen: SeenRequest[];
  /** The next requests are answered by this (default: 200 `{}`). */
  answer(fn: Answer): void;
  /** Resolves with the next request as it arrives. */
  nextRequest(): Promise<SeenRequest>;
  stop(): Promise<void>;
}

export function startHttpService(): HttpService {
  const seen: SeenRequest[] = [];
  let answer: Answer = () => Response.json({});
  let waiters: ((r: SeenRequest) => void)[] = [];
  const server: Server<undefined> = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    // Long enough for the timeout tests' hanging answers.
    idleTimeout: 60,
    async fetch(req, srv) {
      const url = new URL(req.url);
      const record: SeenRequest = {
        method: req.method,
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: await req.text(),
        clientPort: srv.requestIP(req)?.port ?? -1,
      };
      seen.push(record);
      for (const w of waiters) w(record);
      waiters = [];
      return answer(record);
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    seen,
    answer(fn) {
      answer = fn;
    },
    nextRequest: () => new Promise((resolve) => waiters.push(resolve)),
    stop: () => server.stop(true),
  };
}
