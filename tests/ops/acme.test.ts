/**
 * ACME (src/ops/acme.ts) against a real Pebble with real HTTP-01 validation: Pebble's DNS answers every
 * name with 127.0.0.1, so it fetches the token from our challenge responder. The certificate is served by
 * a real TLS listener and verified against Pebble's root; the cache is private and reused; a short-lived
 * certificate is renewed on its own; a failing validation is retried and the order completes once the
 * responder answers.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import { renewalTime, startAcme } from "../../src/ops/acme.ts";
import {
  type ChallengeResponder,
  type ChallengeStore,
  createChallengeStore,
  startChallengeResponder,
} from "../../src/ops/acme-challenges.ts";
import { createCertificateHolder } from "../../src/ops/tls-holder.ts";
import { captureLog } from "../kit/capture-log.ts";
import { type Pebble, startPebble } from "../kit/pebble.ts";
import { freePort } from "../kit/ports.ts";
import { until } from "../kit/wait.ts";

const DOMAIN = "snetd.test";
const work = mkdtempSync(join(tmpdir(), "snetd-acme-"));
const store = createChallengeStore();
let responder: ChallengeResponder;
let pebble: Pebble;

const validations = (p: Pebble) =>
  p
    .logs()
    .split("\n")
    .filter((l) => l.includes(`Attempting to validate w/ HTTP: http://${DOMAIN}:`)).length;

/** Serves `holder` on a real TLS listener and connects as a client that trusts only Pebble's root. */
async function verifiedHandshake(
  holder: ReturnType<typeof createCertificateHolder>,
  root: string,
): Promise<{ authorized: boolean; error: string; names: string }> {
  const server = tls.createServer({ ...holder.serverOptions(), ALPNProtocols: ["h2", "http/1.1"] }, (s) => s.end());
  holder.attach(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  try {
    return await new Promise((resolve, reject) => {
      const socket = tls.connect(
        { host: "127.0.0.1", port, servername: DOMAIN, ca: root, rejectUnauthorized: false },
        () => {
          resolve({
            authorized: socket.authorized,
            error: String(socket.authorizationError ?? ""),
            names: socket.getPeerCertificate().subjectaltname ?? "",
          });
          socket.destroy();
        },
      );
      socket.on("error", reject);
    });
  } finally {
    server.close();
  }
}

beforeAll(async () => {
  responder = await startChallengeResponder({ store, port: 0, host: "127.0.0.1", log: captureLog() });
  pebble = await startPebble({ httpPort: responder.port });
});

afterAll(async () => {
  await responder?.close();
  await pebble?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe("ACME with HTTP-01 against Pebble", () => {
  const cacheDir = join(work, "certs");

  test("obtains a certificate that a client trusting the CA accepts, validated over HTTP-01", async () => {
    const holder = createCertificateHolder();
    const log = captureLog();
    const before = validations(pebble);
    const manager = await startAcme({
      domain: DOMAIN,
      cacheDir,
      directoryUrl: pebble.directoryUrl,
      directoryCa: pebble.directoryCa,
      email: "ops@snetd.test",
      challenges: store,
      holder,
      log,
    });
    const pair = await manager.ready;
    manager.close();
    expect(holder.current()?.fingerprint).toBe(pair.fingerprint);
    expect(holder.source()).toBe("acme");
    expect(pair.names).toEqual([DOMAIN]);
    expect(validations(pebble)).toBeGreaterThan(before);
    const seen = await verifiedHandshake(holder, await pebble.rootCertificate());
    expect(seen).toEqual({ authorized: true, error: "", names: `DNS:${DOMAIN}` });
    // The reference's rule for a 90-day certificate: 30 days before expiry (Pebble's lifetime is 1 s
    // short of 90 days, so a third of it wins by a fraction of a second).
    expect(manager.nextRenewal()?.getTime()).toBe(renewalTime(pair).getTime());
    expect((pair.notAfter.getTime() - renewalTime(pair).getTime()) / 86_400_000).toBeCloseTo(30, 3);
    expect(log.matching("ACME certificate obtained")[0]?.fields.not_after).toBe(pair.notAfter.toISOString());
  });

  test("the cache directory is private and a restart serves the cached certificate without a new order", async () => {
    expect(statSync(cacheDir).mode & 0o777).toBe(0o700);
    const files = readdirSync(cacheDir).sort();
    expect(files).toEqual(["acme-account.key.pem", `${DOMAIN}.crt.pem`, `${DOMAIN}.key.pem`]);
    for (const f of files) expect(statSync(join(cacheDir, f)).mode & 0o777).toBe(0o600);

    const holder = createCertificateHolder();
    const log = captureLog();
    const before = validations(pebble);
    const manager = await startAcme({
      domain: DOMAIN,
      cacheDir,
      directoryUrl: pebble.directoryUrl,
      directoryCa: pebble.directoryCa,
      challenges: store,
      holder,
      log,
    });
    await manager.ready;
    manager.close();
    expect(log.has("ACME certificate loaded from cache")).toBe(true);
    expect(validations(pebble)).toBe(before);
  });

  test("a failing validation is logged and retried; the order completes once the token is reachable", async () => {
    const holder = createCertificateHolder();
    const log = captureLog();
    // Tokens first go to a store no responder serves, so Pebble's fetch gets 404; then to the served one.
    let target = createChallengeStore();
    const switching: ChallengeStore = {
      set: (t, k) => target.set(t, k),
      delete: (t) => target.delete(t),
      get: (t) => target.get(t),
    };
    const manager = await startAcme({
      domain: DOMAIN,
      cacheDir: join(work, "retry"),
      directoryUrl: pebble.directoryUrl,
      directoryCa: pebble.directoryCa,
      challenges: switching,
      holder,
      log,
      retryMinMs: 300,
    });
    await until(() => log.has("Unable to obtain a certificate"), "the failed order's log line", { timeoutMs: 40_000 });
    expect(String(log.matching("Unable to obtain a certificate")[0]?.fields.reason)).toMatch(
      /404|unauthorized|Non-200/i,
    );
    expect(holder.current()).toBeUndefined();
    target = store;
    await manager.ready;
    manager.close();
    expect(holder.current()?.names).toEqual([DOMAIN]);
  });
});

describe("renewal", () => {
  test("renewalTime is the lesser of 30 days and a third of the lifetime before expiry", () => {
    const start = new Date("2026-01-01T00:00:00Z");
    const day = 86_400_000;
    expect(renewalTime({ notBefore: start, notAfter: new Date(start.getTime() + 90 * day) }).toISOString()).toBe(
      "2026-03-02T00:00:00.000Z",
    );
    expect(renewalTime({ notBefore: start, notAfter: new Date(start.getTime() + 6 * day) }).toISOString()).toBe(
      "2026-01-05T00:00:00.000Z",
    );
  });

  test("a short-lived certificate is renewed on its own and the new one is served", async () => {
    const port = await freePort();
    const shortStore = createChallengeStore();
    const shortResponder = await startChallengeResponder({
      store: shortStore,
      port,
      host: "127.0.0.1",
      log: captureLog(),
    });
    const shortPebble = await startPebble({ httpPort: port, validitySeconds: 12 });
    const holder = createCertificateHolder();
    const log = captureLog();
    try {
      const manager = await startAcme({
        domain: DOMAIN,
        cacheDir: join(work, "short"),
        directoryUrl: shortPebble.directoryUrl,
        directoryCa: shortPebble.directoryCa,
        challenges: shortStore,
        holder,
        log,
      });
      const first = await manager.ready;
      expect(manager.nextRenewal()?.getTime()).toBe(renewalTime(first).getTime());
      await until(() => holder.current()?.fingerprint !== first.fingerprint, "the renewed certificate", {
        timeoutMs: 40_000,
        intervalMs: 200,
      });
      manager.close();
      const renewed = holder.current()!;
      expect(renewed.notAfter.getTime()).toBeGreaterThan(first.notAfter.getTime());
      expect((await verifiedHandshake(holder, await shortPebble.rootCertificate())).authorized).toBe(true);
      expect(log.matching("ACME certificate obtained").length).toBeGreaterThanOrEqual(2);
    } finally {
      await shortResponder.close();
      await shortPebble.stop();
    }
  });
});

describe("the challenge responder", () => {
  test("answers known tokens only, and 404 for everything else", async () => {
    store.set("tok-1", "tok-1.thumbprint");
    const base = `http://127.0.0.1:${responder.port}/.well-known/acme-challenge`;
    const ok = await fetch(`${base}/tok-1`);
    expect([ok.status, await ok.text()]).toEqual([200, "tok-1.thumbprint"]);
    expect((await fetch(`${base}/unknown`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${responder.port}/`)).status).toBe(404);
    expect((await fetch(`${base}/tok-1`, { method: "POST" })).status).toBe(404);
    store.delete("tok-1");
    expect((await fetch(`${base}/tok-1`)).status).toBe(404);
  });

  test("a port that is taken fails with a message naming the port and acme_http_port", async () => {
    await expect(
      startChallengeResponder({ store, port: responder.port, host: "127.0.0.1", log: captureLog() }),
    ).rejects.toThrow(`Unable to bind port "${responder.port}" for ACME HTTP-01 challenges`);
  });
});
