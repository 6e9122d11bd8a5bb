/**
 * The certificate the listener serves right now, swapped in one assignment. File reloads (tls-reload.ts)
 * and ACME (acme.ts) write it; the listener reads it on every handshake, with SNI (SNICallback) and
 * without (the server's default context, replaced by `setSecureContext`). Connections already open keep
 * the certificate they were made with, so a swap drops nothing.
 *
 * @example
 * const holder = createCertificateHolder();
 * const server = tls.createServer({ ...holder.serverOptions(), ALPNProtocols: ["h2", "http/1.1"] }, onSocket);
 * const detach = holder.attach(server);
 */
import type tls from "node:tls";
import type { CertificatePair } from "./certificate.ts";

export type CertificateSource = "file" | "acme";

export interface CertificateHolder {
  /** The pair being served, or undefined before the first one (ACME still obtaining it). */
  current(): CertificatePair | undefined;
  /** Where the current pair came from. */
  source(): CertificateSource | undefined;
  /** Serves `pair` to every handshake from now on. */
  set(pair: CertificatePair, source: CertificateSource): void;
  /** For `tls.createServer`: the current pair as cert/key (if any) plus the SNICallback. */
  serverOptions(): Pick<tls.TlsOptions, "cert" | "key" | "SNICallback">;
  /** SNICallback that answers with the current pair; fails the handshake while there is none. */
  sniCallback(servername: string, cb: (err: Error | null, ctx?: tls.SecureContext) => void): void;
  /** Keeps `server`'s default context (non-SNI handshakes) in step with the holder; returns a detach function. */
  attach(server: tls.Server): () => void;
  /** Called after each swap; returns an unsubscribe function. */
  onChange(listener: (pair: CertificatePair, source: CertificateSource) => void): () => void;
}

/** An empty holder; fill it with `set`. */
export function createCertificateHolder(): CertificateHolder {
  let pair: CertificatePair | undefined;
  let from: CertificateSource | undefined;
  const listeners = new Set<(pair: CertificatePair, source: CertificateSource) => void>();
  const sniCallback: CertificateHolder["sniCallback"] = (servername, cb) => {
    if (pair) cb(null, pair.context);
    else cb(new Error(`No certificate for "${servername}" yet; the ACME order is still running`));
  };
  return {
    current: () => pair,
    source: () => from,
    set(next, source) {
      pair = next;
      from = source;
      for (const l of listeners) l(next, source);
    },
    serverOptions: () => ({ ...(pair ? { cert: pair.cert, key: pair.key } : {}), SNICallback: sniCallback }),
    sniCallback,
    attach(server) {
      const apply = (p: CertificatePair) => server.setSecureContext({ cert: p.cert, key: p.key });
      if (pair) apply(pair);
      listeners.add(apply);
      return () => listeners.delete(apply);
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
