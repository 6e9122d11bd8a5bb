// The admin listener under Deno (`deno task test`): src/ops/fetch-server.ts serves with Deno.serve there.
// /metrics behind the bearer token, an event stream that arrives while it is written, and close() that
// ends a stream still open (Deno's own shutdown would wait for it forever).
import assert from "node:assert/strict";
import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { adminApp, startAdminServer } from "../../src/ops/admin-server.ts";
import { serveFetch } from "../../src/ops/fetch-server.ts";

declare const Deno: { test(name: string, fn: () => void | Promise<void>): void };

const TOKEN = "admin-token-for-deno-0123456789abcdef";

Deno.test("admin server: /metrics needs the token, then answers the metrics text", async () => {
  const app = adminApp({
    token: TOKEN,
    metrics: async () => ({ contentType: "text/plain; version=0.0.4", body: "snetd_up 1\n" }),
  });
  const admin = await startAdminServer({ host: "127.0.0.1", port: 0, app });
  try {
    const refused = await fetch(`http://127.0.0.1:${admin.port}/metrics`);
    await refused.body?.cancel();
    assert.equal(refused.status, 401);
    const ok = await fetch(`http://127.0.0.1:${admin.port}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(ok.status, 200);
    assert.equal(await ok.text(), "snetd_up 1\n");
  } finally {
    await admin.close();
  }
});

Deno.test("fetch server: an event stream arrives as written, and close() ends it", async () => {
  let sent = 0;
  const app = new Hono().get("/events", (c) =>
    streamSSE(c, async (stream) => {
      while (!stream.aborted) {
        await stream.writeSSE({ event: "tick", data: String(sent++) });
        await stream.sleep(50);
      }
    }),
  );
  const server = serveFetch({ host: "127.0.0.1", port: 0, fetch: app.fetch });
  const res = await fetch(`http://127.0.0.1:${server.port}/events`);
  const reader = res.body!.getReader();
  const first = new TextDecoder().decode((await reader.read()).value);
  assert.match(first, /event: tick\ndata: 0\n/);
  await server.close();
  // The client sees the stream end (or break) rather than hang.
  for (;;) {
    const chunk = await reader.read().catch(() => ({ done: true }));
    if (chunk.done) break;
  }
  const after = sent;
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.ok(sent <= after + 1, `the stream kept writing after close(): ${after} then ${sent}`);
});
