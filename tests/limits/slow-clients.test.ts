/**
 * Slow and idle clients (protocol/operations.md#listener-limits): a connection whose first request's headers are
 * not complete within `headers_timeout` — trickled HTTP/1.1 headers, trickled HTTP/2 CONTINUATION frames,
 * silence, a TLS handshake never started — is cut (408 with the reason, or GOAWAY ENHANCE_YOUR_CALM with it);
 * one with no call in progress for `idle_timeout` is closed (GOAWAY NO_ERROR), while a long call is not idle.
 * A well-behaved client is served all along. Bounds are generous: they only turn a hang into a failure.
 */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import * as grpc from "@grpc/grpc-js";
import { makeCertificate } from "../kit/certs.ts";
import { startDaemon } from "../kit/daemon.ts";
import { call } from "../kit/echo-service.ts";
import { limitedDaemon } from "./limited-daemon.ts";
import {
  callOn,
  ECHO,
  echoRequest,
  FRAME,
  frame,
  goaway,
  grpcHeaders,
  h2Session,
  hpack,
  PREFACE,
  parseFrames,
  rawConnection,
} from "./raw-clients.ts";

const HEADERS_TIMEOUT_MS = 2_000;
const IDLE_TIMEOUT_MS = 1_500;
/** Far above both timeouts; a cut must come well before. */
const CUT_MS = 10_000;
const TRICKLE_MS = 200;

const fx = limitedDaemon({ headers_timeout: `${HEADERS_TIMEOUT_MS}ms`, idle_timeout: `${IDLE_TIMEOUT_MS}ms` });

/** Calls `send` every TRICKLE_MS until the connection is gone; the well-behaved client calls meanwhile. */
async function trickleWhileServing(send: () => boolean, closed: () => Promise<boolean>) {
  const timer = setInterval(() => {
    if (!send()) clearInterval(timer);
  }, TRICKLE_MS);
  try {
    for (const text of ["one", "two", "three"]) {
      const r = await call(fx.good, "Echo", { text });
      expect(r.status.code).toBe(grpc.status.OK);
      expect(r.response?.text).toBe(text);
    }
    expect(await closed()).toBe(true);
  } finally {
    clearInterval(timer);
  }
}

describe("headers_timeout", () => {
  test("HTTP/1.1 headers trickled byte by byte: 408 with the reason, then closed", async () => {
    await fx.daemon.showLogsOnFailure(async () => {
      const c = await rawConnection(fx.daemon.endpoint);
      c.send("POST /example.Echo/Echo HTTP/1.1\r\nHost: snetd\r\nContent-Type: application/grpc-web+proto\r\n");
      let n = 0;
      await trickleWhileServing(
        () => c.send(`X-Slow-${n++}: a\r\n`),
        () => c.closedWithin(CUT_MS),
      );
      const reply = c.received().toString("latin1");
      expect(reply).toStartWith("HTTP/1.1 408 Request Timeout\r\n");
      expect(reply).toContain(`request headers not received within ${HEADERS_TIMEOUT_MS} ms (headers_timeout)`);
    });
  });

  test("HTTP/2 header block trickled in CONTINUATION frames: GOAWAY ENHANCE_YOUR_CALM with the reason", async () => {
    await fx.daemon.showLogsOnFailure(async () => {
      const c = await rawConnection(fx.daemon.endpoint);
      c.send(Buffer.concat([PREFACE, frame(FRAME.SETTINGS, 0, 0), frame(FRAME.HEADERS, 0, 1, grpcHeaders(ECHO))]));
      let n = 0;
      await trickleWhileServing(
        () => c.send(frame(FRAME.CONTINUATION, 0, 1, hpack([[`x-slow-${n++}`, "a"]]))),
        () => c.closedWithin(CUT_MS),
      );
      expect(goaway(parseFrames(c.received()))).toEqual({
        code: 11,
        debug: `no complete request within ${HEADERS_TIMEOUT_MS} ms (headers_timeout)`,
      });
    });
  });

  test("a connection that says nothing, and one that never starts its TLS handshake, are closed", async () => {
    const dir = mkdtempSync(join(tmpdir(), "snetd-limits-tls-"));
    const { cert, key } = makeCertificate({ names: ["localhost"], days: 1 });
    writeFileSync(join(dir, "cert.pem"), cert);
    writeFileSync(join(dir, "key.pem"), key);
    const secure = await startDaemon({
      config: {
        blockchain_enabled: false,
        service_endpoint: `http://${fx.service.address}`,
        headers_timeout: `${HEADERS_TIMEOUT_MS}ms`,
        ssl_cert: join(dir, "cert.pem"),
        ssl_key: join(dir, "key.pem"),
      },
    });
    try {
      await secure.showLogsOnFailure(async () => {
        const silent = await rawConnection(fx.daemon.endpoint);
        const silentTls = await rawConnection(secure.endpoint);
        expect(await silent.closedWithin(CUT_MS)).toBe(true);
        expect(await silentTls.closedWithin(CUT_MS)).toBe(true);
        expect(silent.received().length).toBe(0);
        // The TLS listener still serves a client that does its handshake.
        const reply = await new Promise<string>((resolve, reject) => {
          const [host, port] = secure.endpoint.split(":") as [string, string];
          const s = tls.connect(
            { host, port: Number(port), rejectUnauthorized: false, ALPNProtocols: ["http/1.1"] },
            () => s.write("GET /heartbeat HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
          );
          let got = "";
          s.on("data", (d: Buffer) => (got += d.toString("latin1")));
          s.on("close", () => resolve(got));
          s.on("error", reject);
        });
        expect(reply).toStartWith("HTTP/1.1 200");
      });
    } finally {
      await secure.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("idle_timeout", () => {
  test("an HTTP/2 connection without calls gets GOAWAY NO_ERROR with the reason and is closed; a long call is not idle", async () => {
    await fx.daemon.showLogsOnFailure(async () => {
      const session = h2Session(fx.daemon.endpoint);
      const away = new Promise<{ code: number; debug: string }>((resolve) =>
        session.once("goaway", (code, _last, data) => resolve({ code, debug: data?.toString() ?? "" })),
      );
      const closed = new Promise<void>((resolve) => session.once("close", () => resolve()));
      // A call lasting twice the idle timeout finishes: a connection with a call in progress is not idle.
      const slow = await callOn(session, "/example.Echo/Slow", Buffer.from([0x08, 0xb8, 0x17])); // SlowRequest{millis: 3000}
      expect(slow.status).toBe(0);
      expect(await callOn(session, ECHO, echoRequest("after the slow call"))).toMatchObject({ status: 0 });
      const bounded = <T>(p: Promise<T>) => Promise.race([p, Bun.sleep(CUT_MS).then(() => "still open")]);
      expect(await bounded(away)).toEqual({ code: 0, debug: `no call for ${IDLE_TIMEOUT_MS} ms (idle_timeout)` });
      expect(await bounded(closed)).toBeUndefined();
    });
  });

  test("an HTTP/1.1 keep-alive connection is closed after its answer once idle", async () => {
    await fx.daemon.showLogsOnFailure(async () => {
      const c = await rawConnection(fx.daemon.endpoint);
      c.send("GET /heartbeat HTTP/1.1\r\nHost: snetd\r\n\r\n");
      expect(await c.closedWithin(CUT_MS)).toBe(true);
      expect(c.received().toString("latin1")).toStartWith("HTTP/1.1 200");
    });
  });
});
