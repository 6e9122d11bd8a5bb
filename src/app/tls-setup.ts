/**
 * The daemon port's certificate (protocol/operations.md#tls–§2): from `ssl_cert`/`ssl_key`, reloaded when the files
 * change, on a periodic check and on SIGHUP; or from an ACME CA for `auto_ssl_domain` (which wins), with
 * the HTTP-01 responder on `acme_http_port`. Either way the listener reads one CertificateHolder, so a
 * new certificate reaches new handshakes (with SNI or without) and open connections keep theirs.
 */
import { readFileSync } from "node:fs";
import { ConfigError, type ConfigProblem } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import type { AcmeManager } from "../ops/acme.ts";
import { type ChallengeResponder, createChallengeStore, startChallengeResponder } from "../ops/acme-challenges.ts";
import { CertificateError } from "../ops/certificate.ts";
import type { Logger } from "../ops/log.ts";
import { type CertificateHolder, createCertificateHolder } from "../ops/tls-holder.ts";
import { type CertificateReloader, watchCertificateFiles } from "../ops/tls-reload.ts";

export interface DaemonTls {
  holder: CertificateHolder;
  /** Re-reads ssl_cert/ssl_key now (SIGHUP); nothing to do with ACME. */
  reload(why: string): Promise<void>;
  close(): Promise<void>;
}

function readable(path: string, file: string, expected: string, problems: ConfigProblem[]): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch (err) {
    problems.push({
      path,
      given: file,
      reason: `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      expected,
    });
    return undefined;
  }
}

/** Files: a wrong path or PEM is a configuration problem naming the key (exit 2), not a bare ENOENT. */
async function fromFiles(config: Config, holder: CertificateHolder, log: Logger): Promise<CertificateReloader> {
  const problems: ConfigProblem[] = [];
  readable("ssl_cert", config.ssl_cert, "a readable PEM certificate chain file", problems);
  readable("ssl_key", config.ssl_key, "a readable PEM private key file", problems);
  if (problems.length > 0) throw new ConfigError(problems);
  try {
    return await watchCertificateFiles({
      certFile: config.ssl_cert,
      keyFile: config.ssl_key,
      holder,
      log,
      pollMs: config.ssl_reload_interval,
    });
  } catch (err) {
    if (!(err instanceof CertificateError)) throw err;
    const reason = `is not a usable certificate and key pair with ssl_key "${config.ssl_key}" (${err.message})`;
    throw new ConfigError([
      {
        path: "ssl_cert",
        given: config.ssl_cert,
        reason,
        expected: "a PEM certificate chain valid now and the PEM private key of its first certificate",
      },
    ]);
  }
}

async function fromAcme(
  config: Config,
  holder: CertificateHolder,
  log: Logger,
): Promise<{ acme: AcmeManager; responder: ChallengeResponder }> {
  let directoryCa: string | undefined;
  if (config.acme_ca_file) {
    const problems: ConfigProblem[] = [];
    directoryCa = readable(
      "acme_ca_file",
      config.acme_ca_file,
      "a readable PEM file of the ACME server's CA",
      problems,
    )?.toString("utf8");
    if (problems.length > 0) throw new ConfigError(problems);
  }
  const challenges = createChallengeStore();
  const responder = await startChallengeResponder({ store: challenges, port: config.acme_http_port, log });
  try {
    // acme-client (with node-forge, axios, x509) is loaded only by daemons that use it.
    const { startAcme } = await import("../ops/acme.ts");
    const acme = await startAcme({
      domain: config.auto_ssl_domain,
      cacheDir: config.auto_ssl_cache_dir,
      directoryUrl: config.acme_directory_url,
      ...(config.acme_email ? { email: config.acme_email } : {}),
      ...(directoryCa ? { directoryCa } : {}),
      challenges,
      holder,
      log,
    });
    return { acme, responder };
  } catch (err) {
    await responder.close();
    throw err;
  }
}

/** Undefined when the daemon port is plain (no ssl_cert/ssl_key, no auto_ssl_domain). */
export async function daemonTls(config: Config, log: Logger): Promise<DaemonTls | undefined> {
  const holder = createCertificateHolder();
  if (config.auto_ssl_domain) {
    if (config.ssl_cert)
      log.warn("auto_ssl_domain is set: ssl_cert and ssl_key are ignored", { domain: config.auto_ssl_domain });
    const { acme, responder } = await fromAcme(config, holder, log);
    // Handshakes fail until the first certificate (cached, or ordered now) is in the holder.
    log.info("ACME enabled", {
      domain: config.auto_ssl_domain,
      directory: config.acme_directory_url,
      http_port: responder.port,
    });
    return {
      holder,
      reload: async () => {},
      async close() {
        acme.close();
        await responder.close();
      },
    };
  }
  if (!config.ssl_cert || !config.ssl_key) return undefined;
  const reloader = await fromFiles(config, holder, log);
  return {
    holder,
    reload: async (why) => void (await reloader.reload(why)),
    close: async () => reloader.close(),
  };
}
