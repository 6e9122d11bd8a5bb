/**
 * Garbage on the port, against the compiled dist/snetd (protocol/operations.md#listener-limits): random bytes
 * parsed as HTTP/1.1 get 400 with the parser's reason and a closed connection; random bytes after the
 * HTTP/2 preface, a broken preface, an undecodable header block and a frame on the wrong stream get a
 * GOAWAY with an error code and a closed connection; random bytes on the TLS port are dropped. Nothing
 * crashes: well-behaved clients are served between and during the runs, and the process is still up at
 * the end. Seeds are fixed, so a failure replays.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { makeCertificate } from "../kit/certs.ts";
import { type DaemonProcess, ensureBinary, startDaemon } from "../kit/daemon.ts";
import { call, type EchoService, echoClient, startEchoService } from "../kit/echo-service.ts";
import { until } from "../kit/wait.ts";
import {
  ECHO,
  FLAG,
  FRAME,
  frame,
  goaway,
  grpcHeaders,
  PREFACE,
  parseFrames,
  randomBytes,
  rawConnection,
} from "./raw-clients.ts";

const SEEDS = Array.from({ length: 16 }, (_, i) => 0x5eed + i * 7919);
/** headers_timeout is short here: a frame left half-sent by the garbage is cut by it within the bound. */
const CUT_MS = 10_000;
const PROTOCOL_ERROR = 1;
const COMPRESSION_ERROR = 9;

let service: EchoService;
let daemon: DaemonProcess;
let secure: DaemonProcess;
let good: grpc.Client;
let certDir: string;

beforeAll(async () => {
  await ensureBinary();
  service = await startEchoService();
  certDir = mkdtempSync(join(tmpdir(), "snetd-garbage-"));
  const { cert, key } = makeCertificate({ names: ["localhost"], days: 1 });
  writeFileSync(join(certDir, "cert.pem"), cert);
  writeFileSync(join(certDir, "key.pem"), key);
  const config = { blockchain_enabled: false, service_endpoint: `http://${service.address}`, headers_timeout: "2s" };
  daemon = await startDaemon({ binary: true, config });
  secure = await startDaemon({
    binary: true,
    config: { ...config, ssl_cert: join(certDir, "cert.pem"), ssl_key: join(certDir, "key.pem") },
  });
  good = echoClient(daemon.endpoint);
}, 180_000);

afterAll(async () => {
  good?.close();
  await daemon?.stop();
  await secure?.stop();
  await service?.stop();
  if (certDir) rmSync(certDir, { recursive: true, force: true });
});

/** Sends `bytes` on a new connection to `endpoint` and waits for the daemon to close it. */
async function throwAt(endpoint: string, bytes: Buffer): Promise<Buffer> {
  const c = await rawConnection(endpoint);
  c.send(bytes);
  const closed = await c.closedWithin(CUT_MS);
  c.socket.destroy();
  if (!closed)
    throw new Error(
      `The daemon kept a connection open for ${CUT_MS} ms after garbage ${bytes.subarray(0, 16).toString("hex")}…`,
    );
  return c.received();
}

async function goodCallWorks(text: string) {
  const r = await call(good, "Echo", { text });
  expect(r.status.code).toBe(grpc.status.OK);
  expect(r.response?.text).toBe(text);
}

describe("HTTP/1.1 garbage", () => {
  test("random bytes: 400 with the parser's reason, connection closed, the daemon serves on", async () => {
    await daemon.showLogsOnFailure(async () => {
      const replies = await Promise.all(
        SEEDS.map((seed) => {
          const bytes = randomBytes(seed, 4096);
          bytes[0] = 0x7f; // never "PRI": these go to the HTTP/1.1 parser
          return throwAt(daemon.endpoint, bytes);
        }),
      );
      await goodCallWorks("after HTTP/1.1 garbage");
      for (const reply of replies) {
        const text = reply.toString("latin1");
        expect(text).toStartWith("HTTP/1.1 400 Bad Request\r\n");
        expect(text).toMatch(/\r\n\r\nmalformed HTTP\/1\.1 request \(HPE_[A-Z_]+\)\n$/);
      }
    });
  });

  test("a header line without a colon: 400 with the reason", async () => {
    await daemon.showLogsOnFailure(async () => {
      const reply = await throwAt(
        daemon.endpoint,
        Buffer.from("GET /heartbeat HTTP/1.1\r\nHost: snetd\r\nno colon here\r\n\r\n"),
      );
      expect(reply.toString("latin1")).toStartWith("HTTP/1.1 400 Bad Request\r\n");
      expect(reply.toString("latin1")).toContain("malformed HTTP/1.1 request (HPE_");
    });
  });
});

describe("HTTP/2 garbage", () => {
  test("random bytes after the preface: GOAWAY with an error code (or a cut), connection closed, the daemon serves on", async () => {
    await daemon.showLogsOnFailure(async () => {
      const pending = SEEDS.map((seed) => throwAt(daemon.endpoint, Buffer.concat([PREFACE, randomBytes(seed, 4096)])));
      await goodCallWorks("during HTTP/2 garbage");
      for (const reply of await Promise.all(pending)) {
        const away = goaway(parseFrames(reply));
        // Either the frame layer refused it (an error code), or a frame the garbage announced never
        // completed and headers_timeout cut it (ENHANCE_YOUR_CALM); never a clean NO_ERROR.
        if (away) expect(away.code).toBeGreaterThan(0);
      }
      await goodCallWorks("after HTTP/2 garbage");
    });
  });

  test("a broken preface, an undecodable header block, DATA on stream 0: each closed, the right GOAWAY", async () => {
    await daemon.showLogsOnFailure(async () => {
      // "PRI" sends it to HTTP/2, whose preface check fails.
      await throwAt(daemon.endpoint, Buffer.from("PRI * HTTP/1.1\r\n\r\nXX\r\n\r\n"));
      const settings = frame(FRAME.SETTINGS, 0, 0);
      const badBlock = await throwAt(
        daemon.endpoint,
        Buffer.concat([
          PREFACE,
          settings,
          frame(FRAME.HEADERS, FLAG.END_HEADERS, 1, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x7f])),
        ]),
      );
      expect(goaway(parseFrames(badBlock))?.code).toBe(COMPRESSION_ERROR);
      const stream0 = await throwAt(
        daemon.endpoint,
        Buffer.concat([PREFACE, settings, frame(FRAME.DATA, 0, 0, Buffer.from("x"))]),
      );
      expect(goaway(parseFrames(stream0))?.code).toBe(PROTOCOL_ERROR);
      // A valid call still works on a fresh connection.
      const c = await rawConnection(daemon.endpoint);
      c.send(
        Buffer.concat([
          PREFACE,
          settings,
          frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 1, grpcHeaders(ECHO)),
        ]),
      );
      await until(
        () => parseFrames(c.received()).some((f) => f.type === FRAME.HEADERS && f.stream === 1),
        "an answer on stream 1",
        { timeoutMs: CUT_MS },
      );
      c.socket.destroy();
      await goodCallWorks("after protocol errors");
    });
  });
});

describe("TLS garbage", () => {
  test("random bytes on the TLS port are dropped; the TLS listener serves on", async () => {
    await secure.showLogsOnFailure(async () => {
      await Promise.all(SEEDS.slice(0, 8).map((seed) => throwAt(secure.endpoint, randomBytes(seed, 4096))));
      const heartbeat = await fetch(`${secure.url}/heartbeat`, { tls: { rejectUnauthorized: false } } as RequestInit);
      expect(heartbeat.status).toBe(200);
    });
  });
});

describe("after all of it", () => {
  test("both daemons are still the processes started, and stop cleanly", async () => {
    expect(await daemon.kill("SIGTERM")).toBe(0);
    expect(await secure.kill("SIGTERM")).toBe(0);
  });
});
