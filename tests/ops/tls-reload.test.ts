/**
 * ssl_cert/ssl_key reload (src/ops/tls-reload.ts) on a real TLS listener built like the daemon's
 * (tls.Server, ALPN, the holder's SNICallback and setSecureContext): calls in flight while the files
 * change finish on the certificate they started with, new handshakes get the new one with and without
 * SNI, and a broken, mismatched or expired pair keeps the one being served.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash, X509Certificate } from "node:crypto";
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import { createCertificateHolder } from "../../src/ops/tls-holder.ts";
import { type CertificateReloader, watchCertificateFiles } from "../../src/ops/tls-reload.ts";
import { captureLog } from "../kit/capture-log.ts";
import { makeCertificate, type TestCertificate } from "../kit/certs.ts";
import { until } from "../kit/wait.ts";

const dir = mkdtempSync(join(tmpdir(), "snetd-tls-reload-"));
const certFile = join(dir, "cert.pem");
const keyFile = join(dir, "key.pem");
const log = captureLog();
const holder = createCertificateHolder();
const CHUNKS = 20;
let server: tls.Server;
let port = 0;
let reloader: CertificateReloader;

const fingerprint = (pem: Buffer) => createHash("sha256").update(new X509Certificate(pem).raw).digest("hex");
const A = makeCertificate({ names: ["localhost", "127.0.0.1"], days: 2 });
const B = makeCertificate({ names: ["localhost", "127.0.0.1"], days: 3 });

/** Replaces both files the way certbot-like tools do: write aside, rename over. */
function install(pair: TestCertificate): void {
  writeFileSync(`${keyFile}.new`, pair.key);
  writeFileSync(`${certFile}.new`, pair.cert);
  renameSync(`${keyFile}.new`, keyFile);
  renameSync(`${certFile}.new`, certFile);
}

/** A fresh handshake: which certificate and protocol the server offers now. */
function handshake(servername: string | undefined): Promise<{ fingerprint: string; alpn: string | false }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect(
      {
        host: "127.0.0.1",
        port,
        rejectUnauthorized: false,
        ALPNProtocols: ["h2", "http/1.1"],
        ...(servername ? { servername } : {}),
      },
      () => {
        const peer = socket.getPeerX509Certificate();
        resolve({
          fingerprint: peer ? createHash("sha256").update(peer.raw).digest("hex") : "",
          alpn: socket.alpnProtocol ?? false,
        });
        socket.destroy();
      },
    );
    socket.on("error", reject);
  });
}

interface SlowCall {
  firstChunk: Promise<void>;
  done: Promise<{ body: string; fingerprint: string }>;
}

/** An HTTPS request whose response streams CHUNKS pieces slowly, on its own connection. */
function slowCall(): SlowCall {
  let firstChunk!: () => void;
  const first = new Promise<void>((r) => (firstChunk = r));
  const done = new Promise<{ body: string; fingerprint: string }>((resolve, reject) => {
    const req = https.get(
      { host: "127.0.0.1", port, path: "/slow", servername: "localhost", rejectUnauthorized: false, agent: false },
      (res) => {
        const peer = (res.socket as tls.TLSSocket).getPeerX509Certificate();
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => {
          body += c;
          firstChunk();
        });
        res.on("end", () =>
          resolve({ body, fingerprint: peer ? createHash("sha256").update(peer.raw).digest("hex") : "" }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
  });
  return { firstChunk: first, done };
}

beforeAll(async () => {
  writeFileSync(certFile, A.cert);
  writeFileSync(keyFile, A.key);
  reloader = await watchCertificateFiles({ certFile, keyFile, holder, log, pollMs: 300, settleMs: 100 });
  const h1 = http.createServer((req, res) => {
    res.writeHead(200, { "content-type": "text/plain" });
    let sent = 0;
    const timer = setInterval(() => {
      res.write(`chunk ${sent}\n`);
      if (++sent === CHUNKS) {
        clearInterval(timer);
        res.end();
      }
    }, 50);
    req.on("close", () => clearInterval(timer));
  });
  server = tls.createServer({ ...holder.serverOptions(), ALPNProtocols: ["h2", "http/1.1"] }, (socket) =>
    h1.emit("connection", socket),
  );
  holder.attach(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as { port: number }).port;
});

afterAll(() => {
  reloader?.close();
  server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("certificate files reloaded while serving", () => {
  test("the certificate loaded at start is served with and without SNI, h2 preferred", async () => {
    expect(await handshake("localhost")).toEqual({ fingerprint: fingerprint(A.cert), alpn: "h2" });
    expect((await handshake(undefined)).fingerprint).toBe(fingerprint(A.cert));
    expect(log.has("TLS certificate loaded")).toBe(true);
  });

  test("calls in flight finish on the old certificate; new handshakes get the new one", async () => {
    const calls = Array.from({ length: 4 }, slowCall);
    await Promise.all(calls.map((c) => c.firstChunk));
    install(B);
    await until(
      async () => (await handshake("localhost")).fingerprint === fingerprint(B.cert),
      "an SNI handshake to get the renewed certificate",
    );
    expect(await handshake(undefined)).toEqual({ fingerprint: fingerprint(B.cert), alpn: "h2" });
    const expected = Array.from({ length: CHUNKS }, (_, i) => `chunk ${i}\n`).join("");
    for (const call of await Promise.all(calls.map((c) => c.done))) {
      expect(call.body).toBe(expected);
      expect(call.fingerprint).toBe(fingerprint(A.cert));
    }
    const line = log.matching("TLS certificate reloaded").at(-1);
    expect(line?.fields.not_after).toBe(new Date(new X509Certificate(B.cert).validTo).toISOString());
  });

  test("a file that is not PEM keeps the served certificate and is reported once", async () => {
    writeFileSync(certFile, "this is not a certificate\n");
    await until(() => log.has("TLS certificate not reloaded"), "the refusal log line");
    await Bun.sleep(700); // two more periodic checks: they must not repeat the line
    expect(log.matching("TLS certificate not reloaded")).toHaveLength(1);
    expect(String(log.matching("TLS certificate not reloaded")[0]?.fields.reason)).toContain(
      "not a readable PEM certificate",
    );
    expect((await handshake("localhost")).fingerprint).toBe(fingerprint(B.cert));
    expect((await handshake(undefined)).fingerprint).toBe(fingerprint(B.cert));
  });

  test("a certificate whose key is not there yet is refused until the key arrives", async () => {
    const C = makeCertificate({ names: ["localhost"], days: 4 });
    writeFileSync(certFile, C.cert); // key.pem still holds B's key
    await until(
      () => log.lines.some((l) => String(l.fields.reason).includes("does not belong")),
      "the key mismatch refusal",
    );
    expect((await handshake("localhost")).fingerprint).toBe(fingerprint(B.cert));
    writeFileSync(keyFile, C.key);
    await until(
      async () => (await handshake(undefined)).fingerprint === fingerprint(C.cert),
      "the matching key to complete the pair",
    );
  });

  test("an expired certificate is refused", async () => {
    const served = (await handshake("localhost")).fingerprint;
    const old = makeCertificate({
      names: ["localhost"],
      notBefore: new Date("2020-01-01T00:00:00Z"),
      notAfter: new Date("2020-01-02T00:00:00Z"),
    });
    install(old);
    await until(
      () => log.lines.some((l) => String(l.fields.reason).includes("expired at 2020-01-02T00:00:00.000Z")),
      "the expiry refusal",
    );
    expect((await handshake("localhost")).fingerprint).toBe(served);
  });

  test("reload() (the SIGHUP hook) swaps a good pair and reports unchanged files as unchanged", async () => {
    const D = makeCertificate({ names: ["localhost"], days: 5 });
    reloader.close(); // no watcher or timer: only the explicit reload can pick the files up
    install(D);
    const swapped = await reloader.reload("SIGHUP");
    expect(swapped.status).toBe("swapped");
    expect((await handshake(undefined)).fingerprint).toBe(fingerprint(D.cert));
    expect((await reloader.reload("SIGHUP")).status).toBe("unchanged");
  });

  test("without change events the periodic check alone picks up a renewal", async () => {
    const polling = await watchCertificateFiles({ certFile, keyFile, holder, log, pollMs: 200, watch: false });
    try {
      const E = makeCertificate({ names: ["localhost"], days: 6 });
      install(E);
      await until(
        async () => (await handshake(undefined)).fingerprint === fingerprint(E.cert),
        "the periodic check to swap the pair",
      );
      expect(log.matching("TLS certificate reloaded").at(-1)?.fields.why).toBe("periodic check");
    } finally {
      polling.close();
    }
  });
});
