/**
 * A TLS certificate chain and its key, checked before anything serves it: the PEM parses, the key belongs
 * to the leaf certificate, and the leaf is valid now. A renewed pair that fails any of these is refused
 * so the listener keeps the pair it has (protocol/operations.md#tls: validate before swapping).
 */
import { createHash, createPrivateKey, X509Certificate } from "node:crypto";
import tls from "node:tls";

export interface CertificatePair {
  /** PEM chain, leaf first, as served. */
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly context: tls.SecureContext;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** DNS names and IP addresses of the leaf (subjectAltName, else the CN). */
  readonly names: readonly string[];
  /** SHA-256 of the leaf (DER), hex: tells a renewed certificate from a re-written identical one. */
  readonly fingerprint: string;
}

export class CertificateError extends Error {
  override readonly name = "CertificateError";
}

/** Parses and checks a PEM chain and key; throws CertificateError saying what is wrong. */
export function loadCertificatePair(cert: Buffer, key: Buffer, now: Date = new Date()): CertificatePair {
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch (err) {
    throw new CertificateError(`The certificate is not a readable PEM certificate: ${(err as Error).message}`);
  }
  let privateKey: ReturnType<typeof createPrivateKey>;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    throw new CertificateError(`The private key is not a readable PEM key: ${(err as Error).message}`);
  }
  if (!leaf.checkPrivateKey(privateKey)) {
    throw new CertificateError(`The private key does not belong to the certificate for ${describe(leaf)}`);
  }
  const notBefore = new Date(leaf.validFrom);
  const notAfter = new Date(leaf.validTo);
  if (notAfter.getTime() <= now.getTime()) {
    throw new CertificateError(
      `The certificate for ${describe(leaf)} expired at ${notAfter.toISOString()}; expected one valid now`,
    );
  }
  if (notBefore.getTime() > now.getTime()) {
    throw new CertificateError(
      `The certificate for ${describe(leaf)} is valid only from ${notBefore.toISOString()}; expected one valid now`,
    );
  }
  let context: tls.SecureContext;
  try {
    context = tls.createSecureContext({ cert, key });
  } catch (err) {
    throw new CertificateError(`The certificate and key cannot be used for TLS: ${(err as Error).message}`);
  }
  return {
    cert,
    key,
    context,
    notBefore,
    notAfter,
    names: namesOf(leaf),
    fingerprint: createHash("sha256").update(leaf.raw).digest("hex"),
  };
}

function namesOf(leaf: X509Certificate): string[] {
  const san = leaf.subjectAltName;
  if (san) {
    return san
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s.startsWith("DNS:") || s.startsWith("IP Address:"))
      .map((s) => s.slice(s.indexOf(":") + 1));
  }
  const cn = /CN=([^\n,]+)/.exec(leaf.subject)?.[1];
  return cn ? [cn] : [];
}

function describe(leaf: X509Certificate): string {
  const names = namesOf(leaf);
  return names.length > 0 ? `"${names.join(", ")}"` : `subject "${leaf.subject.replace(/\n/g, ", ")}"`;
}
