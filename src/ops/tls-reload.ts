/**
 * `ssl_cert` / `ssl_key` reloaded without a restart (protocol/operations.md#tls). Three triggers: a change event on
 * either file's directory (fs.watch; directories, because certbot and Kubernetes replace files by rename
 * or symlink swap, which a watch on the old inode never sees), a periodic stat for file systems where
 * events do not arrive (NFS, some container mounts), and `reload()` for the caller's SIGHUP handler.
 *
 * A new pair is checked (certificate.ts) before it is swapped in; a broken or half-written pair is logged
 * once and the served pair stays. Unchanged content is not reloaded.
 *
 * @example
 * const holder = createCertificateHolder();
 * const reloader = await watchCertificateFiles({ certFile, keyFile, holder, log });
 * process.on("SIGHUP", () => void reloader.reload("SIGHUP"));
 */
import { type FSWatcher, watch } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { basename, dirname, resolve } from "node:path";
import { type CertificatePair, loadCertificatePair } from "./certificate.ts";
import type { Logger } from "./log.ts";
import type { CertificateHolder } from "./tls-holder.ts";

export interface TlsReloadOptions {
  certFile: string;
  keyFile: string;
  holder: CertificateHolder;
  log: Logger;
  /** Periodic stat interval; default 10 s. */
  pollMs?: number;
  /** false = periodic check only, for file systems without change events; default true. */
  watch?: boolean;
  /** Events arrive per write; wait this long for the writer to finish both files. Default 250 ms. */
  settleMs?: number;
  now?: () => Date;
}

export type ReloadResult =
  | { status: "swapped"; pair: CertificatePair }
  | { status: "unchanged" }
  | { status: "refused"; reason: string };

export interface CertificateReloader {
  /** Re-reads both files now; `why` goes into the log line. */
  reload(why: string): Promise<ReloadResult>;
  close(): void;
}

/** Loads the pair (throws CertificateError if it is unusable), serves it, then follows file changes. */
export async function watchCertificateFiles(opts: TlsReloadOptions): Promise<CertificateReloader> {
  const certFile = resolve(opts.certFile);
  const keyFile = resolve(opts.keyFile);
  const now = opts.now ?? (() => new Date());
  const first = loadCertificatePair(await readFile(certFile), await readFile(keyFile), now());
  opts.holder.set(first, "file");
  opts.log.info("TLS certificate loaded", {
    cert: certFile,
    names: first.names,
    not_after: first.notAfter.toISOString(),
  });

  let stamp = await fileStamp(certFile, keyFile);
  let lastRefusal = "";
  let running: Promise<ReloadResult> | undefined;
  let again = false;

  const attempt = async (why: string): Promise<ReloadResult> => {
    let pair: CertificatePair;
    try {
      stamp = await fileStamp(certFile, keyFile);
      pair = loadCertificatePair(await readFile(certFile), await readFile(keyFile), now());
    } catch (err) {
      const reason = (err as Error).message;
      // Once per distinct problem: the periodic check must not repeat it every few seconds.
      if (reason !== lastRefusal) {
        opts.log.error("TLS certificate not reloaded; still serving the previous one", { why, cert: certFile, reason });
        lastRefusal = reason;
      }
      return { status: "refused", reason };
    }
    lastRefusal = "";
    const served = opts.holder.current();
    if (served && served.fingerprint === pair.fingerprint && served.key.equals(pair.key))
      return { status: "unchanged" };
    opts.holder.set(pair, "file");
    opts.log.info("TLS certificate reloaded", {
      why,
      cert: certFile,
      names: pair.names,
      not_after: pair.notAfter.toISOString(),
    });
    return { status: "swapped", pair };
  };

  // One reload at a time; a trigger during a reload runs one more afterwards.
  const reload = (why: string): Promise<ReloadResult> => {
    if (running) {
      again = true;
      return running;
    }
    running = attempt(why).finally(() => {
      running = undefined;
      if (again) {
        again = false;
        void reload(why);
      }
    });
    return running;
  };

  let settle: ReturnType<typeof setTimeout> | undefined;
  const onEvent = (_event: string, name: string | Buffer | null) => {
    const changed = name === null ? undefined : String(name);
    if (
      changed !== undefined &&
      changed !== basename(certFile) &&
      changed !== basename(keyFile) &&
      !changed.startsWith("..")
    )
      return;
    clearTimeout(settle);
    settle = setTimeout(() => void reload("file change"), opts.settleMs ?? 250);
  };
  const watchers: FSWatcher[] = [];
  for (const dir of opts.watch === false ? [] : new Set([dirname(certFile), dirname(keyFile)])) {
    try {
      const w = watch(dir, { persistent: false }, onEvent);
      w.on("error", () => {}); // the periodic check still covers this directory
      watchers.push(w);
    } catch {
      // Some mounts refuse watches; the periodic check covers them.
    }
  }

  const poll = setInterval(async () => {
    try {
      const next = await fileStamp(certFile, keyFile);
      if (next !== stamp) void reload("periodic check");
    } catch {
      void reload("periodic check"); // a file vanished: say so once, keep serving
    }
  }, opts.pollMs ?? 10_000);
  poll.unref();

  return {
    reload,
    close() {
      clearInterval(poll);
      clearTimeout(settle);
      for (const w of watchers) w.close();
    },
  };
}

/** What changes when either file is rewritten, renamed over or re-linked (stat follows symlinks). */
async function fileStamp(certFile: string, keyFile: string): Promise<string> {
  const [c, k] = await Promise.all([stat(certFile), stat(keyFile)]);
  return `${c.ino}:${c.size}:${c.mtimeMs}|${k.ino}:${k.size}:${k.mtimeMs}`;
}
