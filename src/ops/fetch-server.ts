/**
 * A fetch handler (a hono app) on a port of its own, with the runtime's native server: Bun.serve under
 * Bun, Deno.serve under Deno. Both stream a response body as it is written (the dashboard's event stream
 * needs that); node:http through a bridge would not without more code.
 *
 * `close()` ends open responses too: Bun's `stop(true)` does; Deno's `shutdown()` waits for every open
 * response to finish, which an event stream never does, so under Deno each body is wrapped and ended here.
 *
 * @example
 * const server = serveFetch({ host: "127.0.0.1", port: 0, fetch: app.fetch });
 * console.log(server.port);
 * await server.close();
 */

type Fetch = (request: Request) => Response | Promise<Response>;

export interface FetchServerOptions {
  host: string;
  /** 0 = any free port. */
  port: number;
  fetch: Fetch;
  tls?: { cert: Buffer; key: Buffer };
  /** Seconds a connection may sit idle (Bun; Deno has no such limit to raise). */
  idleTimeoutS?: number;
}

export interface FetchServer {
  readonly port: number;
  /** Stops listening and ends every open response. */
  close(): Promise<void>;
}

interface BunRuntime {
  serve(options: {
    hostname: string;
    port: number;
    fetch: Fetch;
    idleTimeout?: number;
    tls?: { cert: Buffer; key: Buffer };
  }): { port?: number; stop(closeActiveConnections: boolean): Promise<void> | void };
}

interface DenoRuntime {
  serve(
    options: { hostname: string; port: number; cert?: string; key?: string; onListen(): void },
    handler: Fetch,
  ): { addr: { port: number }; shutdown(): Promise<void> };
}

const runtimes = globalThis as { Bun?: BunRuntime; Deno?: DenoRuntime };

/** Serves `fetch` on host:port with Bun.serve or Deno.serve; throws when the port cannot be bound. */
export function serveFetch(opts: FetchServerOptions): FetchServer {
  const bun = runtimes.Bun;
  if (bun) {
    const server = bun.serve({
      hostname: opts.host,
      port: opts.port,
      fetch: opts.fetch,
      ...(opts.idleTimeoutS !== undefined ? { idleTimeout: opts.idleTimeoutS } : {}),
      ...(opts.tls ? { tls: opts.tls } : {}),
    });
    return { port: server.port ?? opts.port, close: async () => void (await server.stop(true)) };
  }
  const deno = runtimes.Deno;
  if (!deno) throw new Error("serving HTTP needs Bun or Deno: neither Bun.serve nor Deno.serve is available");
  const bodies = endableBodies(opts.fetch);
  const server = deno.serve(
    {
      hostname: opts.host,
      port: opts.port,
      ...(opts.tls ? { cert: opts.tls.cert.toString("utf8"), key: opts.tls.key.toString("utf8") } : {}),
      // Deno prints "Listening on …" unless told otherwise; the daemon's log says where it listens.
      onListen: () => {},
    },
    bodies.fetch,
  );
  return {
    port: server.addr.port,
    async close() {
      const finished = server.shutdown();
      bodies.endAll();
      await finished;
    },
  };
}

/** Wraps every response body so that `endAll()` can end the ones still streaming. */
function endableBodies(fetch: Fetch): { fetch: Fetch; endAll(): void } {
  const open = new Set<() => void>();
  return {
    async fetch(request) {
      const response = await fetch(request);
      if (!response.body) return response;
      const reader = response.body.getReader();
      let end = () => {};
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          end = () => {
            open.delete(end);
            reader.cancel().catch(() => {});
            try {
              controller.close();
            } catch {
              // Already closed or errored.
            }
          };
          open.add(end);
        },
        async pull(controller) {
          const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
          if (!open.has(end)) return;
          if (done) end();
          else controller.enqueue(value);
        },
        cancel(reason) {
          open.delete(end);
          return reader.cancel(reason);
        },
      });
      return new Response(body, {
        status: response.status,
        statusText: response.statusText,
        headers: response.headers,
      });
    },
    endAll() {
      for (const end of [...open]) end();
    },
  };
}
