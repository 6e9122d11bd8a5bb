/**
 * The ACME cache directory (`auto_ssl_cache_dir`): the account key and the domain's certificate chain and
 * key. Private keys live here, so the directory is 0700 and every file 0600, re-applied at each start in
 * case the operator created the directory with wider rights. Files are written aside and renamed into
 * place so a crash never leaves half a key.
 */
import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";

export interface AcmeCache {
  readonly dir: string;
  accountKey(): Promise<Buffer | undefined>;
  saveAccountKey(pem: Buffer): Promise<void>;
  certificate(domain: string): Promise<{ cert: Buffer; key: Buffer } | undefined>;
  saveCertificate(domain: string, cert: Buffer, key: Buffer): Promise<void>;
}

const ACCOUNT_KEY = "acme-account.key.pem";
// Domains are host names (letters, digits, dots, hyphens, maybe a leading "*."): safe as file names
// once the wildcard star is spelled out.
const fileName = (domain: string, kind: "crt" | "key") =>
  `${domain.toLowerCase().replace(/^\*\./, "_wildcard.")}.${kind}.pem`;

async function readIfThere(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

async function writePrivate(path: string, data: Buffer): Promise<void> {
  const aside = `${path}.${process.pid}.tmp`;
  await writeFile(aside, data, { mode: 0o600 });
  await chmod(aside, 0o600);
  await rename(aside, path);
}

/** Creates (or tightens) the directory and returns its reader/writer. */
export async function openAcmeCache(dir: string): Promise<AcmeCache> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  return {
    dir,
    accountKey: () => readIfThere(join(dir, ACCOUNT_KEY)),
    saveAccountKey: (pem) => writePrivate(join(dir, ACCOUNT_KEY), pem),
    async certificate(domain) {
      const [cert, key] = await Promise.all([
        readIfThere(join(dir, fileName(domain, "crt"))),
        readIfThere(join(dir, fileName(domain, "key"))),
      ]);
      return cert && key ? { cert, key } : undefined;
    },
    async saveCertificate(domain, cert, key) {
      // Key first: a crash between the renames leaves a new key with the old certificate, which the
      // pair check refuses at the next start, and a new order follows.
      await writePrivate(join(dir, fileName(domain, "key")), key);
      await writePrivate(join(dir, fileName(domain, "crt")), cert);
    },
  };
}
