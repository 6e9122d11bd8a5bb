/**
 * Plain HTTP on the daemon port (protocol/headers.md#http-endpoints):
 * /heartbeat, /encoding, /metrics, CORS, 404 otherwise.
 */
import { Hono } from "hono";
import { corsHeaders } from "./cors.ts";

export interface HeartbeatSource {
  /** The reply of /heartbeat, field names and types exactly as dashboards parse them. */
  heartbeat(): Promise<Record<string, unknown>>;
  /** Service metadata `encoding` (`proto` or `json`). */
  encoding(): string;
  /** Prometheus text, when metrics are enabled. */
  metrics?: () => Promise<{ contentType: string; body: string }>;
}

export function httpApp(source: HeartbeatSource): Hono {
  const app = new Hono();
  app.use("*", async (c, next) => {
    await next();
    for (const [k, v] of Object.entries(corsHeaders(c.req.header("origin")))) c.res.headers.set(k, v);
  });
  // "Any method, first path segment" (protocol/headers.md#http-endpoints).
  app.all("/heartbeat/*", async (c) =>
    c.text(`${JSON.stringify(await source.heartbeat())}\n`, 200, { "content-type": "application/json" }),
  );
  app.all("/heartbeat", async (c) =>
    c.text(`${JSON.stringify(await source.heartbeat())}\n`, 200, { "content-type": "application/json" }),
  );
  app.all("/encoding", (c) => c.text(`${source.encoding()}\n`));
  app.all("/encoding/*", (c) => c.text(`${source.encoding()}\n`));
  app.get("/metrics", async (c) => {
    if (!source.metrics) return c.text("metrics are disabled (metrics_enabled: false)\n", 404);
    const m = await source.metrics();
    return c.body(m.body, 200, { "content-type": m.contentType });
  });
  app.notFound((c) => c.text("404 page not found\n", 404));
  return app;
}
