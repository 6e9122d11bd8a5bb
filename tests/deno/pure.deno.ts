// The pure parts under Deno (`npx deno task test`): signatures against the shared vectors, numbers,
// escrow validation, the config loader and the store contract on memory and node:sqlite. Bun's suites
// cover the same code in depth; this proves it is runtime-free.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/config/load.ts";
import { checkEscrow } from "../../src/core/escrow.ts";
import { nobleRecovery, signDigest } from "../../src/core/noble-recovery.ts";
import { bytesToHex, hexToBytes, parseDecimal } from "../../src/core/numbers.ts";
import { claimMessage, personalDigest, recoverSigner } from "../../src/core/signatures.ts";
import type { Store } from "../../src/store/contract.ts";
import { memoryStore } from "../../src/store/memory.ts";
import { sqliteStore } from "../../src/store/sqlite.ts";
import vectors from "../vectors/signatures.json" with { type: "json" };

declare const Deno: { test(name: string, fn: () => void | Promise<void>): void };

Deno.test("escrow claim vectors recover and re-sign byte for byte", () => {
  const cases = vectors.signatures.filter((c) => c.kind === "escrow_claim");
  assert.ok(cases.length >= 2);
  for (const c of cases) {
    const f = Object.fromEntries(c.fields.map((x) => [x.name, x.value]));
    const message = claimMessage(f.mpe_address!, BigInt(f.channel_id!), BigInt(f.nonce!), BigInt(f.amount!));
    assert.equal(bytesToHex(message), c.message_hex);
    assert.equal(recoverSigner(nobleRecovery, message, hexToBytes(c.signature)), c.signer_address.toLowerCase());
    const key = (vectors.keys as Record<string, { private_key: string }>)[c.signer_key]!.private_key;
    assert.equal(bytesToHex(signDigest(hexToBytes(key), personalDigest(message))), c.signature);
  }
});

Deno.test("numbers are canonical decimal only", () => {
  assert.equal(parseDecimal("100"), 100n);
  for (const bad of ["010", "0x10", "-1", "", "1_0"]) assert.equal(parseDecimal(bad), undefined);
});

Deno.test("escrow validation reports the nonce first, as the reference", () => {
  const channel = {
    channelId: 1n,
    nonce: 2n,
    sender: "0x01" as const,
    signer: "0x01" as const,
    recipient: "0x02" as const,
    groupId: "0x00" as const,
    fullAmount: 10n,
    expiration: 1000n,
    authorisedAmount: 0n,
  };
  const r = checkEscrow({
    channel,
    payment: { type: "escrow", channelId: 1n, nonce: 1n, amount: 999n, signature: new Uint8Array(65) },
    signer: undefined,
    head: 0n,
    expirationThreshold: 0n,
    price: 1n,
  });
  assert.equal(r?.error.code, 1000);
});

Deno.test("config: env overrides file and problems are listed", () => {
  const { config } = loadConfig({ env: { SNET_LOG__LEVEL: "debug", SNET_BLOCKCHAIN_ENABLED: "false" }, cwd: tmpdir() });
  assert.equal(config.log.level, "debug");
  assert.equal(config.blockchain_enabled, false);
  assert.throws(
    () => loadConfig({ env: { SNET_MAX_MESSAGE_SIZE_IN_MB: "0" }, cwd: tmpdir() }),
    /max_message_size_in_mb/,
  );
});

async function contract(store: Store) {
  assert.equal(
    await store.commit({ compare: [{ key: "k", version: 0n }], then: [{ op: "put", key: "k", value: "v" }] }),
    true,
  );
  const v = (await store.get("k"))!.version;
  const results = await Promise.all(
    [1, 2, 3].map((i) =>
      store.commit({ compare: [{ key: "k", version: v }], then: [{ op: "put", key: "k", value: String(i) }] }),
    ),
  );
  assert.equal(results.filter(Boolean).length, 1);
  await store.close();
}

Deno.test("store contract on memory", () => contract(memoryStore()));
Deno.test("store contract on node:sqlite", async () => {
  const dir = mkdtempSync(join(tmpdir(), "snetd-deno-"));
  try {
    await contract(sqliteStore({ path: join(dir, "s.sqlite"), writes: "inline" }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
