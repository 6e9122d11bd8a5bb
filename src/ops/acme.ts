/**
 * Certificates from an ACME CA (Let's Encrypt by default) for `auto_ssl_domain` (protocol/operations.md#acme), with
 * acme-client: HTTP-01 answered by acme-challenges.ts, account key and certificate cached in
 * `auto_ssl_cache_dir` (acme-cache.ts), renewed before expiry by the reference's rule (the lesser of 30
 * days and a third of the lifetime), served through the same CertificateHolder as file certificates.
 *
 * Unlike the reference (issuance on the first handshake), the order starts at once, so the first client
 * does not wait minutes; a cached certificate is served immediately. A failed order is retried with
 * backoff while the current certificate, if any, keeps being served.
 *
 * @example
 * const challenges = createChallengeStore();
 * await startChallengeResponder({ store: challenges, port: cfg.acme_http_port, log });
 * const acme = await startAcme({ domain, cacheDir, directoryUrl, challenges, holder, log });
 * await acme.ready; // before the listener starts, or let handshakes fail until then
 */
import https from "node:https";
import * as acme from "acme-client";
import { type AcmeCache, openAcmeCache } from "./acme-cache.ts";
import type { ChallengeStore } from "./acme-challenges.ts";
import { type CertificatePair, loadCertificatePair } from "./certificate.ts";
import type { Logger } from "./log.ts";
import type { CertificateHolder } from "./tls-holder.ts";

export const LETS_ENCRYPT_DIRECTORY = acme.directory.letsencrypt.production;
export const LETS_ENCRYPT_STAGING_DIRECTORY = acme.directory.letsencrypt.staging;

export interface AcmeOptions {
  domain: string;
  cacheDir: string;
  directoryUrl: string;
  /** Contact address registered with the account (expiry notices from the CA); optional. */
  email?: string;
  /** PEM the ACME server's HTTPS certificate chains to, for private CAs; default: the system roots. */
  directoryCa?: string;
  challenges: ChallengeStore;
  holder: CertificateHolder;
  log: Logger;
  now?: () => Date;
  /** First retry delay after a failed order (doubles up to retryMaxMs); default 1 min. */
  retryMinMs?: number;
  /** Default 1 h. */
  retryMaxMs?: number;
}

export interface AcmeManager {
  /** Settles when a certificate is served (cached or newly ordered); never rejects, retries instead. */
  readonly ready: Promise<CertificatePair>;
  /** Orders a new certificate now and serves it (an operator command, or tests). */
  renew(): Promise<CertificatePair>;
  /** When the next order is planned; undefined while one runs. */
  nextRenewal(): Date | undefined;
  close(): void;
}

const DAY_MS = 86_400_000;
// setTimeout fires at once for delays over 2^31−1 ms (24.8 days); longer waits are done in steps.
const MAX_TIMER_MS = DAY_MS;

/** When to renew: the lesser of 30 days and a third of the lifetime before expiry (the reference's rule). */
export function renewalTime(pair: Pick<CertificatePair, "notBefore" | "notAfter">): Date {
  const lifetime = pair.notAfter.getTime() - pair.notBefore.getTime();
  return new Date(pair.notAfter.getTime() - Math.min(30 * DAY_MS, lifetime / 3));
}

/** Serves a cached certificate if it is good, starts ordering one otherwise, and keeps it renewed. */
export async function startAcme(opts: AcmeOptions): Promise<AcmeManager> {
  const now = opts.now ?? (() => new Date());
  const domain = opts.domain.toLowerCase();
  const cache = await openAcmeCache(opts.cacheDir);
  if (opts.directoryCa) acme.axios.defaults.httpsAgent = new https.Agent({ ca: opts.directoryCa });
  const client = new acme.Client({ directoryUrl: opts.directoryUrl, accountKey: await accountKey(cache) });

  let closed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let planned: Date | undefined;
  let ordering: Promise<CertificatePair> | undefined;
  let retryMs = opts.retryMinMs ?? 60_000;
  let resolveReady!: (p: CertificatePair) => void;
  const ready = new Promise<CertificatePair>((r) => (resolveReady = r));

  const serve = (pair: CertificatePair, how: string) => {
    opts.holder.set(pair, "acme");
    resolveReady(pair);
    const at = renewalTime(pair);
    opts.log.info(`ACME certificate ${how}`, {
      domain,
      not_after: pair.notAfter.toISOString(),
      renew_at: at.toISOString(),
    });
    schedule(at);
  };

  const schedule = (at: Date) => {
    clearTimeout(timer);
    if (closed) return;
    planned = at;
    const wait = Math.max(0, at.getTime() - now().getTime());
    timer = setTimeout(
      () => (at.getTime() <= now().getTime() ? void order() : schedule(at)),
      Math.min(wait, MAX_TIMER_MS),
    );
    timer.unref?.();
  };

  const order = (): Promise<CertificatePair> => {
    if (ordering) return ordering;
    clearTimeout(timer);
    planned = undefined;
    ordering = obtain()
      .then((pair) => {
        retryMs = opts.retryMinMs ?? 60_000;
        serve(pair, "obtained");
        return pair;
      })
      .catch((err: unknown) => {
        const reason = err instanceof Error ? err.message : String(err);
        opts.log.error("Unable to obtain a certificate from the ACME server; still serving the previous one, if any", {
          domain,
          directory: opts.directoryUrl,
          reason,
          retry_in_s: Math.round(retryMs / 1000),
        });
        schedule(new Date(now().getTime() + retryMs));
        retryMs = Math.min(retryMs * 2, opts.retryMaxMs ?? 3_600_000);
        throw err;
      })
      .finally(() => (ordering = undefined));
    return ordering;
  };

  const obtain = async (): Promise<CertificatePair> => {
    const [key, csr] = await acme.crypto.createCsr({ altNames: [domain] }, await acme.crypto.createPrivateEcdsaKey());
    const chain = await client.auto({
      csr,
      ...(opts.email ? { email: opts.email } : {}),
      termsOfServiceAgreed: true,
      challengePriority: ["http-01"],
      // acme-client would first fetch the token itself over port 80 of the domain; the CA's own
      // validation is the one that counts, and the self-check fails behind NAT or split DNS.
      skipChallengeVerification: true,
      challengeCreateFn: async (_authz, challenge, keyAuthorization) =>
        opts.challenges.set(challenge.token, keyAuthorization),
      challengeRemoveFn: async (_authz, challenge) => opts.challenges.delete(challenge.token),
    });
    const pair = loadCertificatePair(Buffer.from(chain), key, now());
    await cache.saveCertificate(domain, pair.cert, pair.key);
    return pair;
  };

  const cached = await usableCached(cache, domain, now(), opts.log);
  if (cached && renewalTime(cached).getTime() > now().getTime()) serve(cached, "loaded from cache");
  else {
    // A cached one that is due for renewal is still served while the new order runs.
    if (cached) opts.holder.set(cached, "acme");
    order().catch(() => {}); // logged and rescheduled inside
  }

  return {
    ready,
    renew: order,
    nextRenewal: () => planned,
    close() {
      closed = true;
      clearTimeout(timer);
    },
  };
}

async function accountKey(cache: AcmeCache): Promise<Buffer> {
  const existing = await cache.accountKey();
  if (existing) return existing;
  const created = await acme.crypto.createPrivateEcdsaKey();
  await cache.saveAccountKey(created);
  return created;
}

async function usableCached(
  cache: AcmeCache,
  domain: string,
  at: Date,
  log: Logger,
): Promise<CertificatePair | undefined> {
  const files = await cache.certificate(domain);
  if (!files) return undefined;
  try {
    const pair = loadCertificatePair(files.cert, files.key, at);
    if (pair.names.some((n) => n.toLowerCase() === domain)) return pair;
    log.warn("Cached ACME certificate is for other names; ordering a new one", { domain, names: pair.names });
  } catch (err) {
    log.warn("Cached ACME certificate is not usable; ordering a new one", { domain, reason: (err as Error).message });
  }
  return undefined;
}
