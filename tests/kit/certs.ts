/**
 * Throwaway certificates for TLS suites, made with the `openssl` command (tests/kit/setup.sh installs it).
 * `days` gives a certificate valid from now; `notBefore`/`notAfter` give any window, expired ones included.
 *
 * @example
 * const { cert, key } = makeCertificate({ names: ["localhost"], days: 1 });
 * const old = makeCertificate({ names: ["localhost"], notBefore: new Date("2020-01-01"), notAfter: new Date("2020-01-02") });
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestCertificate {
  cert: Buffer;
  key: Buffer;
}

export interface CertificateOptions {
  /** DNS names (or IPv4 addresses) for subjectAltName; the first is also the CN. Default ["localhost"]. */
  names?: string[];
  days?: number;
  notBefore?: Date;
  notAfter?: Date;
}

const CA_CONFIG = `[ca]
default_ca = d
[d]
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = p
unique_subject = no
copy_extensions = copy
[p]
commonName = supplied
`;

function openssl(args: string[], cwd: string): void {
  const r = spawnSync("openssl", args, { cwd, encoding: "utf8" });
  if (r.error)
    throw new Error(
      `These tests make certificates with 'openssl', which could not be run: ${r.error.message}; run tests/kit/setup.sh`,
    );
  if (r.status !== 0) throw new Error(`'openssl ${args[0]}' failed with exit ${r.status}: ${r.stderr}`);
}

const asn1Time = (d: Date) => `${d.toISOString().replace(/[-:T]/g, "").slice(0, 14)}Z`;

/** A self-signed EC P-256 certificate and its key (PEM). */
export function makeCertificate(opts: CertificateOptions = {}): TestCertificate {
  const names = opts.names ?? ["localhost"];
  const san = names.map((n) => (/^\d+\.\d+\.\d+\.\d+$/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(",");
  const dir = mkdtempSync(join(tmpdir(), "snetd-cert-"));
  try {
    const common = [
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-subj",
      `/CN=${names[0]}`,
      "-addext",
      `subjectAltName=${san}`,
      "-keyout",
      "key.pem",
    ];
    if (opts.notBefore || opts.notAfter) {
      const from = opts.notBefore ?? new Date();
      const to = opts.notAfter ?? new Date(from.getTime() + 86_400_000);
      writeFileSync(join(dir, "ca.cnf"), CA_CONFIG);
      writeFileSync(join(dir, "index.txt"), "");
      writeFileSync(join(dir, "serial"), `${Date.now().toString(16).padStart(16, "0")}\n`);
      openssl(["req", "-new", ...common, "-out", "req.csr"], dir);
      openssl(
        [
          "ca",
          "-batch",
          "-config",
          "ca.cnf",
          "-selfsign",
          "-keyfile",
          "key.pem",
          "-in",
          "req.csr",
          "-startdate",
          asn1Time(from),
          "-enddate",
          asn1Time(to),
          "-out",
          "cert.pem",
        ],
        dir,
      );
    } else {
      openssl(["req", "-x509", ...common, "-days", String(opts.days ?? 1), "-out", "cert.pem"], dir);
    }
    return { cert: readFileSync(join(dir, "cert.pem")), key: readFileSync(join(dir, "key.pem")) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
