/**
 * A counting JSON-RPC proxy between the daemon and anvil, so the benchmark can measure chain RPCs per
 * paid call (target: 0 in steady state). Counts every method of single and batched requests.
 */

export interface RpcCounter {
  /** Give this to the daemon as `ethereum_json_rpc_http_endpoint`. */
  url: string;
  /** Requests forwarded so far, by JSON-RPC method. */
  snapshot(): Record<string, number>;
  stop(): void;
}

export function startRpcCounter(target: string): RpcCounter {
  const counts: Record<string, number> = {};
  const note = (message: unknown) => {
    const method =
      typeof message === "object" && message !== null && "method" in message ? String(message.method) : "(malformed)";
    counts[method] = (counts[method] ?? 0) + 1;
  };
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const body = await request.text();
      try {
        const parsed: unknown = JSON.parse(body);
        for (const message of Array.isArray(parsed) ? parsed : [parsed]) note(message);
      } catch {
        note(undefined);
      }
      const answer = await fetch(target, { method: "POST", headers: { "content-type": "application/json" }, body });
      return new Response(await answer.arrayBuffer(), {
        status: answer.status,
        headers: { "content-type": "application/json" },
      });
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    snapshot: () => ({ ...counts }),
    stop: () => void server.stop(true),
  };
}

/** Per-method difference of two snapshots, zero counts left out. */
export function rpcDelta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const delta: Record<string, number> = {};
  for (const [method, n] of Object.entries(after)) {
    const d = n - (before[method] ?? 0);
    if (d !== 0) delta[method] = d;
  }
  return delta;
}
