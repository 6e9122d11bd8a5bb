/** TLS and mTLS material of the etcd client, read once at open with errors naming the config key. */
import { readFileSync } from "node:fs";
import { rootCertificates } from "node:tls";
import type { IOptions } from "etcd3";
import type { EtcdStoreOptions } from "./etcd.ts";

function readPem(path: string, key: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`cannot read the etcd ${what} "${path}" (${key}): ${(err as Error).message}`, { cause: err });
  }
}

/** The etcd client credentials: the CA (or the system roots), and the client pair for mTLS. */
export function credentials(tls: NonNullable<EtcdStoreOptions["tls"]>): NonNullable<IOptions["credentials"]> {
  if (Boolean(tls.certPath) !== Boolean(tls.keyPath)) {
    throw new Error(
      `etcd mTLS needs both payment_channel_cert_path and payment_channel_key_path, got cert "${tls.certPath ?? ""}" and key "${tls.keyPath ?? ""}"`,
    );
  }
  return {
    rootCertificate: tls.caPath
      ? readPem(tls.caPath, "payment_channel_ca_path", "CA certificate")
      : Buffer.from(rootCertificates.join("\n")),
    ...(tls.certPath ? { certChain: readPem(tls.certPath, "payment_channel_cert_path", "client certificate") } : {}),
    ...(tls.keyPath ? { privateKey: readPem(tls.keyPath, "payment_channel_key_path", "client key") } : {}),
  };
}

