/**
 * The daemon port with ssl_cert/ssl_key (protocol/headers.md#one-port): TLS wraps gRPC (ALPN h2), gRPC-Web and
 * plain HTTP (ALPN http/1.1), with a self-signed certificate made at test time. Runs from source and as dist/snetd.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http2 from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { type DaemonProcess, ensureBinary, runCli, startDaemon } from "../kit/daemon.ts";
import {
  bidi,
  call,
  clientStream,
  type EchoReply,
  type EchoService,
  echoClient,
  FAIL_TRAILERS,
  patternBytes,
  serverStream,
  startEchoService,
} from "../kit/echo-service.ts";
import { freePort } from "../kit/ports.ts";

const echoMethods = protoLoader.loadSync(join(import.meta.dir, "../kit/echo.proto"), {
  keepCase: true,
  defaults: true,
})["example.Echo"] as Record<string, grpc.MethodDefinition<object, EchoReply>>;
const echo = echoMethods.Echo!;

const dir = mkdtempSync(join(tmpdir(), "snetd-tls-"));
const certFile = join(dir, "cert.pem");
const keyFile = join(dir, "key.pem");
let cert: Buffer;

function makeCertificate(): void {
  const r = spawnSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-subj",
      "/CN=localhost",
      "-days",
      "1",
      "-addext",
      "subjectAltName=DNS:localhost,IP:127.0.0.1",
      "-keyout",
      keyFile,
      "-out",
      certFile,
    ],
    { encoding: "utf8" },
  );
  if (r.error)
    throw new Error(
      `These tests make a self-signed certificate with 'openssl', which could not be run: ${r.error.message}; install openssl`,
    );
  if (r.status !== 0) throw new Error(`'openssl req' failed with exit ${r.status}: ${r.stderr}`);
  cert = readFileSync(certFile);
}

function frame(payload: Uint8Array): Buffer {
  const out = Buffer.alloc(5 + payload.length);
  out.writeUInt32BE(payload.length, 1);
  out.set(payload, 5);
  return out;
}

beforeAll(() => {
  makeCertificate();
  return ensureBinary();
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

for (const mode of [
  { name: "from source", binary: false },
  { name: "dist/snetd", binary: true },
] as const) {
  describe(`TLS on the daemon port (${mode.name})`, () => {
    let service: EchoService;
    let daemon: DaemonProcess;
    let client: grpc.Client;
    const spec = (name: string, fn: () => Promise<void>) => test(name, () => daemon.showLogsOnFailure(fn), 20_000);

    beforeAll(async () => {
      service = await startEchoService();
      daemon = await startDaemon({
        binary: mode.binary,
        config: {
          service_endpoint: `http://${service.address}`,
          blockchain_enabled: false,
          ssl_cert: certFile,
          ssl_key: keyFile,
        },
      });
      client = echoClient(daemon.endpoint, {
        credentials: grpc.credentials.createSsl(cert),
        options: { "grpc.ssl_target_name_override": "localhost", "grpc.default_authority": "localhost" },
      });
    }, 60_000);
    afterAll(async () => {
      client?.close();
      await daemon?.stop();
      await service?.stop();
    }, 30_000);

    spec("gRPC over TLS: unary with metadata, headers and trailers", async () => {
      const payload = patternBytes(200_000);
      const r = await call(client, "Echo", { text: "secure", payload }, { "x-tls": "1" }, { deadlineMs: 10_000 });
      expect(r.status.code).toBe(grpc.status.OK);
      expect(r.response?.payload.equals(payload)).toBe(true);
      expect(r.response?.metadata["x-tls"]).toBe("1");
      expect(r.headers["x-service-header"]).toBe("yes");
      expect(r.trailers["x-service-trailer"]).toBe("done");
    });

    spec("gRPC over TLS: every streaming kind", async () => {
      const s = await serverStream(client, { count: 5, payload: patternBytes(1000) });
      expect(s.status.code).toBe(grpc.status.OK);
      expect(s.responses.map((m) => m.count)).toEqual([0, 1, 2, 3, 4]);
      const c = await clientStream(client, [{ text: "a" }, { text: "b" }]);
      expect(c.response?.text).toBe("ab");
      const b = await bidi(client, [{ text: "x" }, { text: "y" }]);
      expect(b.responses.map((m) => m.text)).toEqual(["x", "y"]);
      expect(b.trailers["x-service-trailer"]).toBe("done");
    });

    spec("gRPC over TLS: a service error keeps status and trailers", async () => {
      const r = await call(client, "Fail", { code: grpc.status.ABORTED, message: "over tls", send_headers: true });
      expect(r.status).toEqual({ code: grpc.status.ABORTED, details: "over tls" });
      expect(r.trailers["x-error-detail"]).toBe(FAIL_TRAILERS["x-error-detail"]);
    });

    spec("gRPC-Web and /heartbeat over https with HTTP/1.1", async () => {
      const tls = { ca: cert.toString("utf8") };
      const beat = await fetch(`${daemon.url}/heartbeat`, { tls });
      expect(beat.status).toBe(200);
      expect(((await beat.json()) as Record<string, unknown>).status).toBe("Online");

      const res = await fetch(`${daemon.url}/example.Echo/Echo`, {
        method: "POST",
        tls,
        headers: { "content-type": "application/grpc-web+proto", "x-grpc-web": "1", origin: "https://dapp.example" },
        body: new Uint8Array(frame(echo.requestSerialize({ text: "web over tls" }))),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get("access-control-allow-origin")).toBe("https://dapp.example");
      const body = Buffer.from(await res.arrayBuffer());
      const length = body.readUInt32BE(1);
      expect(echo.responseDeserialize(body.subarray(5, 5 + length)).text).toBe("web over tls");
      expect(body[5 + length]).toBe(0x80);
      expect(body.subarray(10 + length).toString("latin1")).toContain("grpc-status: 0");
    });

    spec("plain HTTP over h2 (ALPN) answers /heartbeat", async () => {
      const session = http2.connect(daemon.url, { ca: cert, servername: "localhost" });
      session.on("error", () => {});
      try {
        const req = session.request({ ":path": "/heartbeat" });
        const chunks: Buffer[] = [];
        let status: number | undefined;
        req.on("response", (h) => (status = h[":status"]));
        req.on("data", (c: Buffer) => chunks.push(c));
        await new Promise((ok, fail) => req.on("end", ok).on("error", fail));
        expect(status).toBe(200);
        expect(session.alpnProtocol).toBe("h2");
        expect(JSON.parse(Buffer.concat(chunks).toString("utf8")).blockchainEnabled).toBe(false);
      } finally {
        session.close();
      }
    });

    spec("the certificate is the configured one, and plaintext is refused", async () => {
      await expect(fetch(`${daemon.url}/heartbeat`)).rejects.toThrow();
      await expect(
        fetch(`http://${daemon.endpoint}/heartbeat`, { signal: AbortSignal.timeout(5000) }),
      ).rejects.toThrow();
      const plain = echoClient(daemon.endpoint);
      try {
        const r = await call(plain, "Echo", { text: "x" }, undefined, { deadlineMs: 3000 });
        expect(r.status.code).not.toBe(grpc.status.OK);
      } finally {
        plain.close();
      }
      // Failed handshakes leave the listener healthy.
      expect((await call(client, "Echo", { text: "still" })).response?.text).toBe("still");
    });

    // SIGINT (Ctrl-C) stops the daemon the same way as SIGTERM.
    const signal = mode.binary ? "SIGINT" : "SIGTERM";
    spec(`${signal} exits 0`, async () => {
      expect(await daemon.kill(signal)).toBe(0);
    });
  });
}

describe("bad TLS files", () => {
  test("an unreadable or unusable ssl_cert/ssl_key exits 2 naming the key, without a stack trace", async () => {
    const garbage = join(dir, "garbage.pem");
    writeFileSync(garbage, "not a pem\n");
    const cases = [
      { ssl_cert: join(dir, "missing-cert.pem"), ssl_key: keyFile, keys: ["ssl_cert"] },
      { ssl_cert: join(dir, "missing-cert.pem"), ssl_key: join(dir, "missing-key.pem"), keys: ["ssl_cert", "ssl_key"] },
      { ssl_cert: garbage, ssl_key: keyFile, keys: ["ssl_cert"] },
      // Certificate and key swapped.
      { ssl_cert: keyFile, ssl_key: certFile, keys: ["ssl_cert"] },
    ];
    for (const { keys, ...files } of cases) {
      const configFile = join(dir, "bad-tls.json");
      writeFileSync(
        configFile,
        JSON.stringify({
          blockchain_enabled: false,
          daemon_endpoint: `127.0.0.1:${await freePort()}`,
          service_endpoint: "http://127.0.0.1:1",
          ...files,
        }),
      );
      for (const binary of [false, true]) {
        const r = await runCli(["serve", "-c", configFile], { binary });
        expect(r.code).toBe(2);
        expect(r.stderr).not.toContain("    at ");
        const problems = r.stderr.split("\n").filter((line) => /^ssl_(cert|key):/.test(line));
        expect(problems.map((line) => line.split(":")[0])).toEqual(keys);
      }
    }
  }, 60_000);
});
