/**
 * The certificate holder (src/ops/tls-holder.ts) on a real TLS listener that starts before any certificate
 * exists, as with ACME still ordering: handshakes fail cleanly until the first pair is set, then succeed
 * with and without SNI; the pair checks (certificate.ts) refuse what must never be served.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import tls from "node:tls";
import { CertificateError, loadCertificatePair } from "../../src/ops/certificate.ts";
import { createCertificateHolder } from "../../src/ops/tls-holder.ts";
import { makeCertificate } from "../kit/certs.ts";

const holder = createCertificateHolder();
let server: tls.Server;
let port = 0;

function handshake(servername?: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = tls.connect(
      { host: "127.0.0.1", port, rejectUnauthorized: false, ...(servername ? { servername } : {}) },
      () => {
        resolve(`certificate ${socket.getPeerCertificate().subject?.CN}`);
        socket.destroy();
      },
    );
    socket.on("error", () => resolve("handshake failed"));
  });
}

beforeAll(async () => {
  server = tls.createServer({ ...holder.serverOptions(), ALPNProtocols: ["h2", "http/1.1"] }, (s) => s.end());
  holder.attach(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as { port: number }).port;
});
afterAll(() => server?.close());

describe("certificate holder", () => {
  test("a listener without a certificate yet fails handshakes, then serves the first one set", async () => {
    expect(holder.current()).toBeUndefined();
    expect(await handshake("snetd.example")).toBe("handshake failed");
    expect(await handshake()).toBe("handshake failed");
    const first = makeCertificate({ names: ["snetd.example"] });
    const changes: string[] = [];
    holder.onChange((pair, source) => changes.push(`${source} ${pair.names.join(",")}`));
    holder.set(loadCertificatePair(first.cert, first.key), "acme");
    expect(await handshake("snetd.example")).toBe("certificate snetd.example");
    expect(await handshake()).toBe("certificate snetd.example");
    expect(changes).toEqual(["acme snetd.example"]);
    expect(holder.source()).toBe("acme");
  });
});

describe("certificate pair checks", () => {
  const a = makeCertificate({ names: ["a.example"] });
  const b = makeCertificate({ names: ["b.example", "127.0.0.1"] });

  test("a good pair reports its names, validity and fingerprint", () => {
    const pair = loadCertificatePair(b.cert, b.key);
    expect(pair.names).toEqual(["b.example", "127.0.0.1"]);
    expect(pair.notAfter.getTime()).toBeGreaterThan(Date.now());
    expect(pair.fingerprint).toMatch(/^[0-9a-f]{64}$/);
  });

  test("a key from another certificate, garbage, an expired or a future certificate is refused", () => {
    expect(() => loadCertificatePair(a.cert, b.key)).toThrow(
      'The private key does not belong to the certificate for "a.example"',
    );
    expect(() => loadCertificatePair(Buffer.from("nope"), a.key)).toThrow(CertificateError);
    expect(() => loadCertificatePair(a.cert, Buffer.from("nope"))).toThrow("The private key is not a readable PEM key");
    const future = makeCertificate({
      names: ["f.example"],
      notBefore: new Date(Date.now() + 86_400_000 * 10),
      notAfter: new Date(Date.now() + 86_400_000 * 20),
    });
    expect(() => loadCertificatePair(future.cert, future.key)).toThrow(
      'The certificate for "f.example" is valid only from',
    );
    expect(() => loadCertificatePair(a.cert, a.key, new Date(Date.now() + 86_400_000 * 5))).toThrow(
      'The certificate for "a.example" expired at',
    );
  });
});
