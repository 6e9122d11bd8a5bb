/**
 * The two figures that are not throughput rows: signer recovery per second (the one piece of crypto on
 * the paid hot path; native libsecp256k1 vs the @noble/curves fallback) and daemon start to ready.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { addressOfPrivateKey, signDigest } from "../src/core/noble-recovery.ts";
import {
  claimMessage,
  type ParsedSignature,
  parseSignature,
  personalDigest,
  type SignerRecovery,
} from "../src/core/signatures.ts";
import { freePort } from "../tests/kit/ports.ts";

/** Recoveries per second over `seconds`, cycling through 64 distinct signed payments. */
export function recoveriesPerSecond(recovery: SignerRecovery, seconds: number): number {
  const key = crypto.getRandomValues(new Uint8Array(32));
  const signer = addressOfPrivateKey(key);
  const cases: { digest: Uint8Array; signature: ParsedSignature }[] = [];
  for (let i = 0; i < 64; i++) {
    const digest = personalDigest(claimMessage(`0x${"ab".repeat(20)}`, BigInt(i), 0n, BigInt(1000 + i)));
    cases.push({ digest, signature: parseSignature(signDigest(key, digest)) });
  }
  // A recovery that returns the wrong address would make the figure meaningless.
  const first = cases[0] as (typeof cases)[number];
  if (recovery.recover(first.digest, first.signature) !== signer)
    throw new Error(`Recovery '${recovery.name}' returned the wrong signer`);
  let n = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  while (performance.now() < end) {
    for (let i = 0; i < 64; i++) {
      const c = cases[i] as (typeof cases)[number];
      recovery.recover(c.digest, c.signature);
    }
    n += 64;
  }
  return n / ((performance.now() - start) / 1000);
}

/**
 * Milliseconds from spawning `dist/snetd serve` to its first HTTP 200 on /heartbeat (polled every 5 ms),
 * once per run, each in a fresh directory (a fresh SQLite file for a paid config).
 */
export async function startToReady(binary: string, config: Record<string, unknown>, runs: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const dir = mkdtempSync(join(tmpdir(), "snetd-bench-start-"));
    const port = await freePort();
    const file = join(dir, "snetd.config.json");
    writeFileSync(file, JSON.stringify({ ...config, daemon_endpoint: `127.0.0.1:${port}` }));
    const started = performance.now();
    const proc = Bun.spawn({
      cmd: [binary, "serve", "-c", file],
      cwd: dir,
      stdin: "ignore",
      stdout: "ignore",
      stderr: "ignore",
    });
    try {
      for (;;) {
        const ok = await fetch(`http://127.0.0.1:${port}/heartbeat`)
          .then(async (r) => {
            await r.arrayBuffer();
            return r.status === 200;
          })
          .catch(() => false);
        if (ok) break;
        if (proc.exitCode !== null)
          throw new Error(`snetd exited with code ${proc.exitCode} before answering /heartbeat`);
        if (performance.now() - started > 20_000) throw new Error("snetd did not answer /heartbeat within 20 s");
        await Bun.sleep(5);
      }
      times.push(performance.now() - started);
    } finally {
      proc.kill("SIGTERM");
      await proc.exited;
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return times;
}
