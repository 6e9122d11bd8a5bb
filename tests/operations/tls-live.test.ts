/**
 * The daemon port's certificate kept current without a restart (protocol/operations.md#tls–§2), on dist/snetd:
 *
 * - ssl_cert/ssl_key replaced on disk: new handshakes, with SNI and without, get the new certificate
 *   while a call running over the old connection finishes normally; a broken file is refused with a log
 *   line and the served certificate stays until the files are repaired; SIGHUP does not stop the daemon;
 * - auto_ssl_domain against a real ACME server (Pebble, HTTP-01 over acme_http_port): the daemon obtains
 *   a certificate that a gRPC client trusting only Pebble's root accepts, and caches it privately.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import * as grpc from "@grpc/grpc-js";
import { makeCertificate } from "../kit/certs.ts";
import { type DaemonProcess, startDaemon } from "../kit/daemon.ts";
import { call, type EchoService, echoClient, startEchoService } from "../kit/echo-service.ts";
import { type Pebble, startPebble } from "../kit/pebble.ts";
import { freePort } from "../kit/ports.ts";
import { until } from "../kit/wait.ts";

const dir = mkdtempSync(join(tmpdir(), "snetd-tls-live-"));
const certFile = join(dir, "cert.pem");
const keyFile = join(dir, "key.pem");
let echo: EchoService;

beforeAll(async () => {
  echo = await startEchoService();
});
afterAll(async () => {
  await echo?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const fingerprint = (pem: Buffer | string) => new X509Certificate(pem).fingerprint256;

/** The certificate a fresh handshake gets, with `servername` as SNI or without SNI. */
function servedFingerprint(endpoint: string, servername?: string): Promise<string> {
  const [host, port] = endpoint.split(":") as [string, string];
  return new Promise((resolve, reject) => {
    const socket = tls.connect(
      {
        host,
        port: Number(port),
        rejectUnauthorized: false,
        ...(servername ? { servername } : {}),
        ALPNProtocols: ["h2"],
      },
      () => {
        resolve(socket.getPeerCertificate().fingerprint256);
        socket.destroy();
      },
    );
    socket.on("error", reject);
  });
}

/** Writes the pair the way certbot does: new files beside the old, renamed into place. */
function install(pair: { cert: Buffer; key: Buffer }): void {
  writeFileSync(`${keyFile}.new`, pair.key);
  writeFileSync(`${certFile}.new`, pair.cert);
  renameSync(`${keyFile}.new`, keyFile);
  renameSync(`${certFile}.new`, certFile);
}

describe("ssl_cert/ssl_key reloaded", () => {
  let daemon: DaemonProcess;
  const first = makeCertificate({ names: ["localhost", "127.0.0.1"] });
  const second = makeCertificate({ names: ["localhost", "127.0.0.1"] });

  beforeAll(async () => {
    install(first);
    daemon = await startDaemon({
      binary: true,
      config: {
        blockchain_enabled: false,
        service_endpoint: `http://${echo.address}`,
        ssl_cert: certFile,
        ssl_key: keyFile,
        ssl_reload_interval: "500ms",
      },
    });
  });
  afterAll(() => daemon?.stop());

  test("a renewed pair reaches new handshakes with and without SNI; a call in flight finishes", async () => {
    await daemon.showLogsOnFailure(async () => {
      expect(await servedFingerprint(daemon.endpoint, "localhost")).toBe(fingerprint(first.cert));
      const client = echoClient(daemon.endpoint, {
        credentials: grpc.credentials.createSsl(Buffer.concat([first.cert, second.cert])),
        options: { "grpc.ssl_target_name_override": "localhost" },
      });
      try {
        const slow = call(client, "Slow", { millis: 1500 });
        await until(() => echo.calls > 0, "the slow call to reach the service");
        install(second);
        await until(
          async () => (await servedFingerprint(daemon.endpoint, "localhost")) === fingerprint(second.cert),
          "the new certificate with SNI",
        );
        expect(await servedFingerprint(daemon.endpoint)).toBe(fingerprint(second.cert));
        expect((await slow).status).toEqual({ code: grpc.status.OK, details: "OK" });
        expect(daemon.logs()).toContain("TLS certificate reloaded");
      } finally {
        client.close();
      }
    });
  });

  test("a broken file is refused with a log line and the served certificate stays", async () => {
    await daemon.showLogsOnFailure(async () => {
      writeFileSync(certFile, "-----BEGIN CERTIFICATE-----\nnot really\n-----END CERTIFICATE-----\n");
      await until(
        () => daemon.logs().includes("TLS certificate not reloaded; still serving the previous one"),
        "the refusal in the log",
      );
      expect(await servedFingerprint(daemon.endpoint, "localhost")).toBe(fingerprint(second.cert));
    });
  });

  test("a repaired pair is served again; SIGHUP (reload) keeps the daemon serving", async () => {
    await daemon.showLogsOnFailure(async () => {
      install(first);
      await until(
        async () => (await servedFingerprint(daemon.endpoint)) === fingerprint(first.cert),
        "the repaired certificate",
      );
      process.kill(daemon.pid, "SIGHUP");
      const r = await fetch(`${daemon.url}/heartbeat`, { tls: { rejectUnauthorized: false } });
      expect(r.status).toBe(200);
      expect(await servedFingerprint(daemon.endpoint, "localhost")).toBe(fingerprint(first.cert));
    });
  });
});

describe("auto_ssl_domain with an ACME server", () => {
  const DOMAIN = "snetd.test";
  let pebble: Pebble;
  let daemon: DaemonProcess;
  const cacheDir = join(dir, "acme-cache");

  beforeAll(async () => {
    const httpPort = await freePort();
    pebble = await startPebble({ httpPort });
    const caFile = join(dir, "pebble-ca.pem");
    writeFileSync(caFile, pebble.directoryCa);
    daemon = await startDaemon({
      binary: true,
      config: {
        blockchain_enabled: false,
        service_endpoint: `http://${echo.address}`,
        auto_ssl_domain: DOMAIN,
        auto_ssl_cache_dir: cacheDir,
        acme_http_port: httpPort,
        acme_directory_url: pebble.directoryUrl,
        acme_ca_file: caFile,
        acme_email: "ops@snetd.test",
      },
    });
  }, 60_000);
  afterAll(async () => {
    await daemon?.stop();
    await pebble?.stop();
  });

  test("obtains a certificate over HTTP-01 that a client trusting the CA accepts, and caches it privately", async () => {
    await daemon.showLogsOnFailure(async () => {
      const root = await pebble.rootCertificate();
      const client = echoClient(daemon.endpoint, {
        credentials: grpc.credentials.createSsl(Buffer.from(root)),
        options: { "grpc.ssl_target_name_override": DOMAIN },
      });
      try {
        const r = await call(client, "Echo", { text: "over ACME" });
        expect(r.status).toEqual({ code: grpc.status.OK, details: "OK" });
        expect(r.response?.text).toBe("over ACME");
      } finally {
        client.close();
      }
      expect(pebble.logs()).toContain(`Attempting to validate w/ HTTP: http://${DOMAIN}:`);
      expect(daemon.logs()).toContain("ACME certificate obtained");
      expect(statSync(cacheDir).mode & 0o777).toBe(0o700);
      expect(readdirSync(cacheDir).sort()).toEqual(["acme-account.key.pem", `${DOMAIN}.crt.pem`, `${DOMAIN}.key.pem`]);
    });
  });
});
