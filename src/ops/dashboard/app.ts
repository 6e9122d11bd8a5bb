/**
 * The operator dashboard as a hono sub-app: the page (`/`), the current snapshot (`/api/snapshot`) and a
 * Server-Sent Events stream (`/api/events`) that pushes a fresh snapshot soon after each change and at
 * least every `intervalMs` (which doubles as the keep-alive). The API needs the admin bearer token when one
 * is given; the page itself carries no data.
 *
 * The response streams, so whatever serves this app must pass the body through as it is written (Bun.serve
 * and Deno.serve do; admin-server.ts uses them through fetch-server.ts).
 *
 * @example
 * const admin = new Hono().route("/dashboard", dashboardApp({ snapshot, events: activity.onChange, token }));
 */
import { Hono } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { streamSSE } from "hono/streaming";
import { DASHBOARD_CSP, DASHBOARD_HTML } from "./page.ts";
import { type DashboardSnapshot, snapshotJson } from "./snapshot.ts";

export interface DashboardOptions {
  snapshot(): DashboardSnapshot | Promise<DashboardSnapshot>;
  /** Subscribes to "something changed" (a call, a claim); returns an unsubscribe function. */
  events?: (listener: () => void) => () => void;
  /** Bearer token for the API; undefined = no check (only on a loopback admin listener). */
  token?: string;
  /** Longest time between two pushes; default 5 s. */
  intervalMs?: number;
  /** Changes within this window are sent as one push; default 250 ms. */
  coalesceMs?: number;
}

export function dashboardApp(opts: DashboardOptions): Hono {
  const intervalMs = opts.intervalMs ?? 5000;
  const coalesceMs = opts.coalesceMs ?? 250;
  const app = new Hono();
  app.get("/", (c) =>
    c.html(DASHBOARD_HTML, 200, {
      "content-security-policy": DASHBOARD_CSP,
      "x-content-type-options": "nosniff",
      "cache-control": "no-store",
    }),
  );
  if (opts.token !== undefined) app.use("/api/*", bearerAuth({ token: opts.token }));
  app.get("/api/snapshot", async (c) =>
    c.body(snapshotJson(await opts.snapshot()), 200, {
      "content-type": "application/json",
      "cache-control": "no-store",
    }),
  );
  app.get("/api/events", (c) =>
    streamSSE(c, async (stream) => {
      let wake: (() => void) | undefined;
      let changed = false;
      const unsubscribe = opts.events?.(() => {
        changed = true;
        wake?.();
      });
      stream.onAbort(() => wake?.());
      try {
        while (!stream.aborted) {
          changed = false;
          await stream.writeSSE({ event: "snapshot", data: snapshotJson(await opts.snapshot()) });
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, intervalMs);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
            if (changed || stream.aborted) wake();
          });
          wake = undefined;
          if (!stream.aborted) await stream.sleep(coalesceMs);
        }
      } finally {
        unsubscribe?.();
      }
    }),
  );
  return app;
}
