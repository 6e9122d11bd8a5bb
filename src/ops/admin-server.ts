/**
 * The admin listener (`admin_endpoint`): /metrics and the dashboard, away from the paid port, behind a
 * bearer token (`admin_token`) compared in constant time (hono's bearer-auth). Without a token it must be
 * bound to a loopback address (the config cross-check refuses otherwise).
 *
 * @example
 * const admin = await startAdminServer({ host: "127.0.0.1", port: 9090, app: adminApp({ token, metrics, dashboard }) });
 * …
 * await admin.close();
 */
import { Hono } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { type DashboardOptions, dashboardApp } from "./dashboard/app.ts";
import { serveFetch } from "./fetch-server.ts";

export interface AdminAppOptions {
  /** Bearer token for everything but the dashboard's page shell; undefined = no check. */
  token?: string;
  dashboard?: Omit<DashboardOptions, "token">;
  /** Prometheus text (src/ops/metrics.ts `render`). */
  metrics?: () => Promise<{ contentType: string; body: string }>;
}

export function adminApp(opts: AdminAppOptions): Hono {
  const app = new Hono();
  if (opts.dashboard) {
    // The page resolves its API relative to its own URL, so it must be served with the trailing slash.
    app.get("/", (c) => c.redirect("/dashboard/"));
    app.get("/dashboard", (c) => c.redirect("/dashboard/"));
    app.route(
      "/dashboard/",
      dashboardApp({ ...opts.dashboard, ...(opts.token !== undefined ? { token: opts.token } : {}) }),
    );
  }
  const metrics = opts.metrics;
  if (metrics) {
    if (opts.token !== undefined) app.use("/metrics", bearerAuth({ token: opts.token }));
    app.get("/metrics", async (c) => {
      const m = await metrics();
      return c.body(m.body, 200, { "content-type": m.contentType });
    });
  }
  app.notFound((c) => c.text("404 page not found\n", 404));
  return app;
}

export interface AdminServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Serves `app` with the runtime's own server (fetch-server.ts: Bun.serve or Deno.serve, both stream SSE bodies). */
export async function startAdminServer(opts: {
  host: string;
  port: number;
  app: Hono;
  tls?: { cert: Buffer; key: Buffer };
}): Promise<AdminServer> {
  try {
    // The event stream pushes at least every 5 s; Bun's default idle limit (10 s) would be close to that.
    return await serveFetch({
      host: opts.host,
      port: opts.port,
      fetch: opts.app.fetch,
      idleTimeoutS: 60,
      ...(opts.tls ? { tls: opts.tls } : {}),
    });
  } catch (err) {
    throw new Error(`Unable to listen on admin_endpoint "${opts.host}:${opts.port}": ${(err as Error).message}`);
  }
}
