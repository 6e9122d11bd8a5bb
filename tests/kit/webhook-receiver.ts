/**
 * A webhook receiver (Bun.serve) that records every request and answers the first `failFirst` of them
 * with `failStatus` (default 503), then 200: for testing delivery with retries.
 *
 * @example
 * const hook = await startWebhookReceiver({ failFirst: 2 });
 * … url: hook.url …
 * await until(() => hook.delivered().length === 1, "the alert to arrive");
 */
export interface ReceivedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: unknown;
  /** The status the receiver answered. */
  status: number;
}

export interface WebhookReceiver {
  url: string;
  /** Every request, failed ones included, in arrival order. */
  requests: ReceivedRequest[];
  /** Requests answered 200. */
  delivered(): ReceivedRequest[];
  /** Answer the next `n` requests with `status`. */
  failNext(n: number, status?: number): void;
  stop(): Promise<void>;
}

export async function startWebhookReceiver(
  opts: { failFirst?: number; failStatus?: number } = {},
): Promise<WebhookReceiver> {
  const requests: ReceivedRequest[] = [];
  let failing = opts.failFirst ?? 0;
  let failStatus = opts.failStatus ?? 503;
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const text = await req.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON: keep the text
      }
      const status = failing > 0 ? failStatus : 200;
      if (failing > 0) failing--;
      const headers: Record<string, string> = {};
      req.headers.forEach((v, k) => {
        headers[k] = v;
      });
      requests.push({ method: req.method, path: new URL(req.url).pathname, headers, body, status });
      return new Response(status === 200 ? "ok" : "try again", { status });
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}/hooks/snetd`,
    requests,
    delivered: () => requests.filter((r) => r.status === 200),
    failNext(n, status = 503) {
      failing = n;
      failStatus = status;
    },
    stop: () => server.stop(true),
  };
}
