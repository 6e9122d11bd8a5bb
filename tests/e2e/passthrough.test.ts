/**
 * The transparent proxy end to end (issue "The single binary"): a real grpc-js service behind snetd with
 * payments off, called by a grpc-js client, once with the daemon running from source and once through
 * the compiled dist/snetd. Every call kind byte for byte, metadata, headers, trailers and status passed
 * through, deadlines and cancellation propagated, message size limits, upstream loss and recovery,
 * health, the plain HTTP endpoints, and graceful shutdown.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import http2 from "node:http2";
import net from "node:net";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { type DaemonProcess, ensureBinary, startDaemon } from "../kit/daemon.ts";
import {
  bidi,
  call,
  clientStream,
  type EchoReply,
  type EchoService,
  echoClient,
  FAIL_TRAILERS,
  healthCheck,
  patternBytes,
  serverStream,
  startEchoService,
} from "../kit/echo-service.ts";
import { freePort } from "../kit/ports.ts";
import { until } from "../kit/wait.ts";

const MiB = 1024 * 1024;
// Far longer than any test waits: a Slow call of this length only ends early if a cancel reached it.
const NEVER_MS = 60_000;
const BUILD_TIMEOUT_MS = 120_000;
/** Bounded waits for what the daemon or the service does next; well inside each test's 20 s. */
const WAIT = { timeoutMs: 10_000, intervalMs: 50 };

// Raw method definitions, for calls the kit's helpers cannot cancel mid-flight.
const echoMethods = protoLoader.loadSync(join(import.meta.dir, "../kit/echo.proto"), {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
})["example.Echo"] as Record<string, grpc.MethodDefinition<object, EchoReply>>;

function method(name: string): grpc.MethodDefinition<object, EchoReply> {
  const m = echoMethods[name];
  if (!m) throw new Error(`Method '${name}' is not in echo.proto`);
  return m;
}

/** A TCP relay in front of the service that counts connections and can cut them all. */
async function tcpRelay(targetPort: number) {
  const sockets = new Set<net.Socket>();
  let connections = 0;
  const server = net.createServer((inbound) => {
    connections++;
    const outbound = net.connect(targetPort, "127.0.0.1");
    inbound.pipe(outbound).pipe(inbound);
    for (const socket of [inbound, outbound]) {
      sockets.add(socket);
      socket.on("error", () => {});
      socket.on("close", () => {
        sockets.delete(socket);
        inbound.destroy();
        outbound.destroy();
      });
    }
  });
  const port = await freePort();
  await new Promise<void>((ok) => server.listen(port, "127.0.0.1", ok));
  return {
    address: `127.0.0.1:${port}`,
    get connections() {
      return connections;
    },
    get open() {
      return sockets.size;
    },
    cut() {
      for (const socket of sockets) socket.destroy();
    },
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((ok) => server.close(() => ok()));
    },
  };
}

/** Resolves once nothing accepts connections on `port` any more. */
function refusesConnections(port: number): Promise<boolean> {
  return new Promise((ok) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      ok(false);
    });
    socket.once("error", () => ok(true));
  });
}

const modes = [
  { name: "from source", binary: false },
  { name: "dist/snetd", binary: true },
] as const;

beforeAll(() => ensureBinary(), BUILD_TIMEOUT_MS);

for (const mode of modes) {
  describe(`transparent proxy, payments off (${mode.name})`, () => {
    let service: EchoService;
    /** max_message_size_in_mb 16: 8 MiB messages pass. */
    let daemon: DaemonProcess;
    /** Default max_message_size_in_mb (4). */
    let small: DaemonProcess;
    let client: grpc.Client;
    let smallClient: grpc.Client;
    const cleanups: (() => Promise<unknown> | unknown)[] = [];
    const start = (config: Record<string, unknown>) =>
      startDaemon({ binary: mode.binary, config: { blockchain_enabled: false, ...config } });
    const spec = (name: string, fn: () => Promise<void>, timeoutMs = 20_000) =>
      test(name, () => daemon.showLogsOnFailure(fn), timeoutMs);

    beforeAll(async () => {
      service = await startEchoService();
      daemon = await start({ service_endpoint: `http://${service.address}`, max_message_size_in_mb: 16 });
      small = await start({ service_endpoint: `http://${service.address}` });
      client = echoClient(daemon.endpoint);
      smallClient = echoClient(small.endpoint);
    }, 60_000);

    afterAll(async () => {
      client?.close();
      smallClient?.close();
      for (const cleanup of cleanups.reverse()) await cleanup();
      await daemon?.stop();
      await small?.stop();
      await service?.stop();
    }, 60_000);

    spec(
      "unary: payload byte for byte, request metadata to the service, response headers and trailers back",
      async () => {
        const payload = patternBytes(300_000);
        const r = await call(
          client,
          "Echo",
          { text: "héllo", payload },
          { "x-request-id": "r-1", "x-multi": ["a", "b"], "x-trace-bin": Uint8Array.of(0, 255, 1) },
          { deadlineMs: 10_000 },
        );
        expect(r.status).toEqual({ code: grpc.status.OK, details: "OK" });
        expect(r.response?.text).toBe("héllo");
        expect(r.response?.payload.equals(payload)).toBe(true);
        expect(r.response?.metadata["x-request-id"]).toBe("r-1");
        expect(r.response?.metadata["x-multi"]).toBe("a, b");
        expect(r.response?.metadata["x-trace-bin"]).toBe(Buffer.of(0, 255, 1).toString("base64"));
        expect(r.headers["x-service-header"]).toBe("yes");
        expect(r.headers["echo-x-request-id"]).toBe("r-1");
        expect([...(r.headers["echo-x-trace-bin"] as Buffer)]).toEqual([0, 255, 1]);
        expect(r.trailers["x-service-trailer"]).toBe("done");
      },
    );

    spec("a client-sent snet-user-address never reaches the service (reference-differences D14)", async () => {
      const r = await call(
        client,
        "Echo",
        { text: "who" },
        { "snet-user-address": "0x00000000000000000000000000000000DeaDBeef", "x-kept": "1" },
      );
      expect(r.status.code).toBe(grpc.status.OK);
      expect(r.response?.metadata["x-kept"]).toBe("1");
      expect(r.response?.metadata).not.toHaveProperty("snet-user-address");
      expect(r.headers).not.toHaveProperty("echo-snet-user-address");
    });

    spec("server streaming: every reply in order, byte for byte, with headers and trailers", async () => {
      const payload = patternBytes(100_000);
      const r = await serverStream(client, { count: 25, payload }, { "x-stream": "s" });
      expect(r.status.code).toBe(grpc.status.OK);
      expect(r.responses.map((m) => m.count)).toEqual([...Array(25).keys()]);
      expect(r.responses.every((m) => m.payload.equals(payload))).toBe(true);
      expect(r.headers["echo-x-stream"]).toBe("s");
      expect(r.trailers["x-service-trailer"]).toBe("done");
    });

    spec("client streaming: every request reaches the service in order", async () => {
      const parts = [patternBytes(70_000), patternBytes(1), Buffer.alloc(0), patternBytes(200_000).subarray(7)];
      const r = await clientStream(
        client,
        parts.map((payload, i) => ({ payload, text: `${i}` })),
        { "x-cs": "c" },
      );
      expect(r.status.code).toBe(grpc.status.OK);
      expect(r.response?.count).toBe(parts.length);
      expect(r.response?.text).toBe("0123");
      expect(r.response?.payload.equals(Buffer.concat(parts))).toBe(true);
      expect(r.headers["echo-x-cs"]).toBe("c");
      expect(r.trailers["x-service-trailer"]).toBe("done");
    });

    spec("bidi streaming: one reply per request, byte for byte", async () => {
      const requests = Array.from({ length: 30 }, (_, i) => ({ text: `m${i}`, payload: patternBytes(i * 997) }));
      const r = await bidi(client, requests, { "x-bidi": "b" });
      expect(r.status.code).toBe(grpc.status.OK);
      expect(r.responses.map((m) => m.text)).toEqual(requests.map((q) => q.text));
      expect(r.responses.map((m) => m.count)).toEqual([...Array(30).keys()]);
      expect(r.responses.every((m, i) => m.payload.equals(requests[i]!.payload))).toBe(true);
      expect(r.headers["echo-x-bidi"]).toBe("b");
      expect(r.trailers["x-service-trailer"]).toBe("done");
    });

    spec("a service error keeps its code, message and trailing metadata (text and -bin)", async () => {
      const message = "not here: 100% ünïcode, trailing space ";
      const r = await call(client, "Fail", { code: grpc.status.NOT_FOUND, message, send_headers: true });
      expect(r.status).toEqual({ code: grpc.status.NOT_FOUND, details: message });
      expect(r.headers["x-service-header"]).toBe("yes");
      expect(r.trailers["x-error-detail"]).toBe(FAIL_TRAILERS["x-error-detail"]);
      expect((r.trailers["x-error-detail-bin"] as Buffer).equals(FAIL_TRAILERS["x-error-detail-bin"])).toBe(true);
    });

    spec("a trailers-only failure stays trailers-only", async () => {
      const r = await call(client, "Fail", { code: grpc.status.PERMISSION_DENIED, message: "no", send_headers: false });
      expect(r.status).toEqual({ code: grpc.status.PERMISSION_DENIED, details: "no" });
      expect(r.headers).toEqual({});
      expect(r.trailers["x-error-detail"]).toBe(FAIL_TRAILERS["x-error-detail"]);
      expect((r.trailers["x-error-detail-bin"] as Buffer).equals(FAIL_TRAILERS["x-error-detail-bin"])).toBe(true);
    });

    spec("a client deadline ends the call with DEADLINE_EXCEEDED and the service sees the cancellation", async () => {
      const before = service.cancelled;
      const r = await call(client, "Slow", { millis: NEVER_MS }, undefined, { deadlineMs: 300 });
      expect(r.status.code).toBe(grpc.status.DEADLINE_EXCEEDED);
      await service.waitCancelled(before + 1, 10_000);
    });

    spec("a client cancel mid-call reaches the service", async () => {
      const before = { calls: service.calls, cancelled: service.cancelled };
      const m = method("Slow");
      const status = new Promise<grpc.StatusObject>((ok) => {
        const pending = client.makeUnaryRequest(
          m.path,
          m.requestSerialize,
          m.responseDeserialize,
          { millis: NEVER_MS },
          () => {},
        );
        pending.on("status", ok);
        void until(() => service.calls > before.calls, "the Slow call to reach the service", WAIT).then(() =>
          pending.cancel(),
        );
      });
      expect((await status).code).toBe(grpc.status.CANCELLED);
      await service.waitCancelled(before.cancelled + 1, 10_000);
    });

    spec("a deadline longer than a 32-bit timer holds does not expire at once", async () => {
      // grpc-js cannot send such a deadline on Bun, so a raw HTTP/2 client does (30 days).
      const m = method("Slow");
      const session = http2.connect(`http://${daemon.endpoint}`);
      try {
        const req = session.request({
          ":method": "POST",
          ":path": m.path,
          "content-type": "application/grpc",
          te: "trailers",
          "grpc-timeout": "2592000S",
        });
        let status: string | undefined;
        req.on("response", (h) => (status = h["grpc-status"] as string | undefined));
        req.on("trailers", (t) => (status = t["grpc-status"] as string | undefined));
        req.resume();
        const message = m.requestSerialize({ millis: 200 });
        const frame = Buffer.alloc(5 + message.length);
        frame.writeUInt32BE(message.length, 1);
        message.copy(frame, 5);
        req.end(frame);
        await new Promise((ok) => req.on("close", ok));
        expect(status).toBe("0");
      } finally {
        session.close();
      }
    });

    spec(
      "an 8 MiB reply and an 8 MiB request pass with max_message_size_in_mb 16",
      async () => {
        const size = 8 * MiB;
        const big = await call(client, "Big", { size });
        expect(big.status.code).toBe(grpc.status.OK);
        expect(big.response?.payload.equals(patternBytes(size))).toBe(true);
        const payload = patternBytes(size);
        const echoed = await call(client, "Echo", { payload });
        expect(echoed.status.code).toBe(grpc.status.OK);
        expect(echoed.response?.payload.equals(payload)).toBe(true);
      },
      60_000,
    );

    spec(
      "with the default 4 MiB limit, a larger request is refused before it reaches the service",
      async () => {
        const before = service.calls;
        const r = await call(smallClient, "Echo", { payload: patternBytes(5 * MiB) });
        expect(r.status.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
        expect(r.status.details).toContain(`vs. ${4 * MiB}`);
        expect(service.calls).toBe(before);
        // The refusal does not poison the connection.
        expect((await call(smallClient, "Echo", { text: "after" })).response?.text).toBe("after");
      },
      60_000,
    );

    spec(
      "with the default 4 MiB limit, a larger reply becomes RESOURCE_EXHAUSTED",
      async () => {
        const r = await call(smallClient, "Big", { size: 5 * MiB });
        expect(r.status.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
        expect(r.status.details).toContain(`vs. ${4 * MiB}`);
        expect((await call(smallClient, "Big", { size: 4 * MiB - 64 })).status.code).toBe(grpc.status.OK);
      },
      60_000,
    );

    spec(
      "200 concurrent calls all come back right",
      async () => {
        const results = await Promise.all(
          Array.from({ length: 200 }, (_, i) =>
            call(client, "Echo", { text: `n${i}`, payload: patternBytes(i * 101) }, { "x-i": `${i}` }),
          ),
        );
        results.forEach((r, i) => {
          expect(r.status.code).toBe(grpc.status.OK);
          expect(r.response?.text).toBe(`n${i}`);
          expect(r.response?.metadata["x-i"]).toBe(`${i}`);
          expect(r.response?.payload.equals(patternBytes(i * 101))).toBe(true);
        });
      },
      60_000,
    );

    spec("health Check through the daemon follows a real probe of the service", async () => {
      const statusNow = async () => (await healthCheck(client)).response?.status;
      expect(await statusNow()).toBe("SERVING");
      service.setServing(false);
      try {
        await until(async () => (await statusNow()) === "NOT_SERVING", "Check to report NOT_SERVING", WAIT);
        const heartbeat = (await (await fetch(`${daemon.url}/heartbeat`)).json()) as Record<string, unknown>;
        expect(heartbeat.status).toBe("Offline");
        expect(JSON.parse(heartbeat.serviceheartbeat as string).status).toBe("NOT_SERVING");
      } finally {
        service.setServing(true);
      }
      await until(async () => (await statusNow()) === "SERVING", "Check to report SERVING again", WAIT);
    });

    spec("/heartbeat answers any method with the reference's field names and types (headers.md)", async () => {
      for (const [path, methodName] of [
        ["/heartbeat", "GET"],
        ["/heartbeat/anything", "POST"],
      ] as const) {
        const res = await fetch(`${daemon.url}${path}`, { method: methodName });
        expect(res.status).toBe(200);
        expect(res.headers.get("content-type")).toContain("application/json");
        const text = await res.text();
        expect(text.endsWith("\n")).toBe(true);
        const body = JSON.parse(text) as Record<string, unknown>;
        expect(body.daemonID).toMatch(/^[0-9a-f]{64}$/);
        expect(body.timestamp).toBeTypeOf("string");
        expect(Math.abs(Number(body.timestamp) - Date.now() / 1000)).toBeLessThan(600);
        expect(body.status).toBe("Online");
        expect(body.serviceheartbeat).toBeTypeOf("string");
        expect(JSON.parse(body.serviceheartbeat as string)).toEqual({
          serviceID: "YOUR_SERVICE_ID",
          status: "SERVING",
        });
        expect(body.daemonVersion).toBeTypeOf("string");
        expect(body.blockchainEnabled).toBe(false);
        expect(body.blockchainNetwork).toBeTypeOf("string");
        expect(body.storageClientCertDetails).toEqual({ validFrom: "", validTill: "" });
      }
    });

    spec("/encoding answers the encoding; anything else is 404", async () => {
      const encoding = await fetch(`${daemon.url}/encoding`);
      expect(encoding.status).toBe(200);
      expect(await encoding.text()).toBe("proto\n");
      for (const path of ["/", "/nope", "/example.Echo/Echo", "/heartbeats"]) {
        const res = await fetch(`${daemon.url}${path}`);
        await res.arrayBuffer();
        expect(res.status).toBe(404);
      }
    });

    spec(
      "the upstream connection is reused by every call and re-established when it dies",
      async () => {
        const relay = await tcpRelay(service.port);
        cleanups.push(() => relay.close());
        const viaRelay = await start({ service_endpoint: `http://${relay.address}` });
        cleanups.push(() => viaRelay.stop());
        const c = echoClient(viaRelay.endpoint);
        cleanups.push(() => c.close());
        const echo = async (text: string) => (await call(c, "Echo", { text })).response?.text;

        for (let i = 0; i < 10; i++) expect(await echo(`seq${i}`)).toBe(`seq${i}`);
        const parallel = await Promise.all(Array.from({ length: 50 }, (_, i) => echo(`par${i}`)));
        expect(parallel).toEqual(Array.from({ length: 50 }, (_, i) => `par${i}`));
        expect(relay.connections).toBe(1);

        relay.cut();
        // A call racing the daemon's discovery of the dead connection may fail; the next ones must not.
        await until(
          async () => (await echo("again")) === "again",
          "a call to succeed after the upstream connection died",
          WAIT,
        );
        expect(relay.connections).toBe(2);
        for (let i = 0; i < 10; i++) expect(await echo(`post${i}`)).toBe(`post${i}`);
        expect(relay.connections).toBe(2);
      },
      30_000,
    );

    spec(
      "upstream unreachable → UNAVAILABLE naming the service; calls work once it is (re)started",
      async () => {
        const port = await freePort();
        const orphan = await start({ service_endpoint: `http://127.0.0.1:${port}` });
        cleanups.push(() => orphan.stop());
        const c = echoClient(orphan.endpoint);
        cleanups.push(() => c.close());

        const down = await call(c, "Echo", { text: "x" });
        expect(down.status.code).toBe(grpc.status.UNAVAILABLE);
        expect(down.status.details).toContain(`127.0.0.1:${port}`);
        expect((await healthCheck(c)).response?.status).toBe("NOT_SERVING");

        let late = await startEchoService({ port });
        try {
          expect((await call(c, "Echo", { text: "up" })).response?.text).toBe("up");
          await late.stop();
          const again = await call(c, "Echo", { text: "x" });
          expect(again.status.code).toBe(grpc.status.UNAVAILABLE);
          expect(again.status.details).toContain(`127.0.0.1:${port}`);
          late = await startEchoService({ port });
          expect((await call(c, "Echo", { text: "restarted" })).response?.text).toBe("restarted");
        } finally {
          await late.stop();
        }
      },
      30_000,
    );

    spec("SIGTERM: stops accepting, lets the in-flight call finish, exits 0", async () => {
      const own = await startEchoService();
      cleanups.push(() => own.stop());
      const d = await start({ service_endpoint: `http://${own.address}` });
      cleanups.push(() => d.stop());
      const c = echoClient(d.endpoint);
      cleanups.push(() => c.close());
      const port = Number(d.endpoint.split(":")[1]);

      const inFlight = call(c, "Slow", { millis: 1500 });
      await until(() => own.calls > 0, "the Slow call to reach the service", WAIT);
      const exited = d.kill("SIGTERM");
      await until(() => refusesConnections(port), "the daemon to stop accepting connections", WAIT);
      const r = await inFlight;
      expect(r.status.code).toBe(grpc.status.OK);
      expect(r.response?.text).toBe("slept 1500 ms");
      expect(r.trailers["x-service-trailer"]).toBe("done");
      expect(await exited).toBe(0);
    });

    spec(
      "SIGTERM: a call longer than drain_timeout is cut, the service sees it, exit 0",
      async () => {
        const own = await startEchoService();
        cleanups.push(() => own.stop());
        const d = await start({ service_endpoint: `http://${own.address}`, drain_timeout: "500ms" });
        cleanups.push(() => d.stop());
        const c = echoClient(d.endpoint);
        cleanups.push(() => c.close());

        const inFlight = call(c, "Slow", { millis: NEVER_MS });
        await until(() => own.calls > 0, "the Slow call to reach the service", WAIT);
        const exited = d.kill("SIGTERM");
        const outcome = await Promise.race([exited, Bun.sleep(15_000).then(() => "still running after 15 s")]);
        expect(outcome).toBe(0);
        expect((await inFlight).status.code).not.toBe(grpc.status.OK);
        await own.waitCancelled(1, 10_000);
      },
      30_000,
    );
  });
}
