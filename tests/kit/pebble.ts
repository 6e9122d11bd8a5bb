/**
 * A real ACME server for tests: Pebble (Let's Encrypt's test CA) plus pebble-challtestsrv as its DNS, which
 * answers every name with 127.0.0.1, so Pebble's HTTP-01 validation really connects to `httpPort` on this
 * machine and fetches the token from the responder under test. Both come from tests/kit/setup.sh (Go
 * proxy, cached); every port is free-chosen and the directory's TLS certificate is made per run.
 *
 * @example
 * const pebble = await startPebble({ httpPort });
 * … directoryUrl: pebble.directoryUrl, caBundle: pebble.directoryCa …
 * const root = await pebble.rootCertificate();
 * await pebble.stop();
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import https from "node:https";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeCertificate } from "./certs.ts";
import { freePort } from "./ports.ts";
import { findTool } from "./tools.ts";
import { until } from "./wait.ts";

export interface PebbleOptions {
  /** Where Pebble connects for HTTP-01 validation (the responder under test). */
  httpPort: number;
  /** Lifetime of issued certificates in seconds; default 90 days as Let's Encrypt. */
  validitySeconds?: number;
}

export interface Pebble {
  directoryUrl: string;
  /** PEM of the certificate Pebble's directory is served with: the ACME client must trust it. */
  directoryCa: string;
  /** Pebble's output so far (validation attempts appear as "Attempting to validate w/ HTTP"). */
  logs(): string;
  /** PEM of the root that issued certificates chain to (from Pebble's management interface). */
  rootCertificate(): Promise<string>;
  stop(): Promise<void>;
}

const children = new Set<ChildProcess>();
process.on("exit", () => {
  for (const c of children) c.kill("SIGKILL");
});

function run(bin: string, args: string[], env: Record<string, string>, out: { text: string }): ChildProcess {
  const child = spawn(bin, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  children.add(child);
  child.on("exit", () => children.delete(child));
  const keep = (b: Buffer) => {
    out.text += b.toString("utf8");
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  return child;
}

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect(port, "127.0.0.1", () => {
      s.destroy();
      resolve(true);
    });
    s.on("error", () => resolve(false));
  });

function get(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    https
      // Pebble refuses requests without a User-Agent
      .get(url, { ca, headers: { "user-agent": "snetd-tests" } }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on("error", reject);
  });
}

/** Starts the DNS test server and Pebble; resolves when the ACME directory answers. */
export async function startPebble(opts: PebbleOptions): Promise<Pebble> {
  const pebbleBin = findTool("pebble", "PEBBLE_BIN");
  const challBin = findTool("pebble-challtestsrv", "PEBBLE_CHALLTESTSRV_BIN");
  const dir = mkdtempSync(join(tmpdir(), "snetd-pebble-"));
  const [acmePort, mgmtPort, dnsPort, challMgmtPort, tlsPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const tlsPair = makeCertificate({ names: ["localhost", "127.0.0.1"], days: 2 });
  writeFileSync(join(dir, "cert.pem"), tlsPair.cert);
  writeFileSync(join(dir, "key.pem"), tlsPair.key);
  writeFileSync(
    join(dir, "pebble.json"),
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${acmePort}`,
        managementListenAddress: `127.0.0.1:${mgmtPort}`,
        certificate: join(dir, "cert.pem"),
        privateKey: join(dir, "key.pem"),
        httpPort: opts.httpPort,
        // TLS-ALPN-01 is not offered by the code under test; the port only has to be one nobody uses.
        tlsPort,
        ocspResponderURL: "",
        externalAccountBindingRequired: false,
        keyAlgorithm: "ecdsa",
        profiles: { default: { description: "test profile", validityPeriod: opts.validitySeconds ?? 7_776_000 } },
      },
    }),
  );

  const dnsOut = { text: "" };
  const pebbleOut = { text: "" };
  const chall = run(
    challBin,
    [
      "-dnsserver",
      `127.0.0.1:${dnsPort}`,
      "-management",
      `127.0.0.1:${challMgmtPort}`,
      "-http01",
      "",
      "-https01",
      "",
      "-doh",
      "",
      "-tlsalpn01",
      "",
      "-defaultIPv4",
      "127.0.0.1",
      "-defaultIPv6",
      "",
    ],
    {},
    dnsOut,
  );
  // No random 0–15 s sleep before validating, and no deliberately rejected nonces: tests wait for
  // progress, and acme-client's nonce retry is not what they test.
  const pebble = run(
    pebbleBin,
    ["-config", join(dir, "pebble.json"), "-dnsserver", `127.0.0.1:${dnsPort}`],
    { PEBBLE_VA_NOSLEEP: "1", PEBBLE_WFE_NONCEREJECT: "0", PEBBLE_AUTHZREUSE: "0" },
    pebbleOut,
  );
  const directoryUrl = `https://127.0.0.1:${acmePort}/dir`;
  const directoryCa = tlsPair.cert.toString("utf8");

  const stop = async () => {
    for (const c of [pebble, chall]) {
      if (c.exitCode === null && c.signalCode === null) {
        const gone = new Promise((r) => c.once("exit", r));
        c.kill("SIGTERM");
        await gone;
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await until(
      async () => {
        if (pebble.exitCode !== null || chall.exitCode !== null)
          throw new Error(`Pebble exited at start:\n${pebbleOut.text}\n${dnsOut.text}`);
        return (
          (await listening(challMgmtPort)) &&
          (await get(directoryUrl, directoryCa).then(
            (r) => r.status === 200,
            () => false,
          ))
        );
      },
      "Pebble's ACME directory",
      { timeoutMs: 20_000, intervalMs: 100 },
    );
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}; Pebble said:\n${pebbleOut.text}\nits DNS said:\n${dnsOut.text}`);
  }
  return {
    directoryUrl,
    directoryCa,
    logs: () => pebbleOut.text,
    async rootCertificate() {
      const r = await get(`https://127.0.0.1:${mgmtPort}/roots/0`, directoryCa);
      if (r.status !== 200) throw new Error(`Pebble's root certificate: HTTP ${r.status}`);
      return r.body;
    },
    stop,
  };
}
