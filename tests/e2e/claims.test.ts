// Getting paid with `snetd list` and `snetd claim` (dist/snetd) against a running daemon and the real contracts
// (protocol/payments.md#treasurer-flow): the lists show what was paid, a claim moves exactly that on-chain,
// clients carry on at the new nonce, and a claim interrupted at any step finishes on the next run, never twice.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { signDigest } from "../../src/core/noble-recovery.ts";
import { bigintToMinimalBytes, bytesToBigint, hexToBytes } from "../../src/core/numbers.ts";
import { personalDigest, startClaimMessage } from "../../src/core/signatures.ts";
import { PaymentReplySchema, StartClaimRequestSchema } from "../../src/gen/control_service_pb.ts";
import { rpc } from "../kit/anvil.ts";
import { channelOnChain, claimOnChain, mpeBalance, signPayment } from "../kit/client.ts";
import { CLIENTS, PROVIDER } from "../kit/contracts.ts";
import { type DaemonProcess, ensureBinary, runCli, SNETD_BINARY, startDaemon } from "../kit/daemon.ts";
import { daemonRpc } from "../kit/daemon-client.ts";
import { call, echoClient } from "../kit/echo-service.ts";
import { type EtcdCluster, startEtcd } from "../kit/etcd.ts";
import { channelState as stateVia } from "../kit/paid-daemon.ts";
import { freePort } from "../kit/ports.ts";
import { type Channel, startWorld, type World } from "../kit/world.ts";

const E2E_TIMEOUT_MS = 180_000;
/** A CLI run loads metadata and waits for receipts; generous for a slow 2-core machine. */
const CLI_TIMEOUT_MS = 120_000;
const KEY_ENV = { SNET_PRIVATE_KEY: PROVIDER.privateKey };

let world: World;
let tmp: string;

beforeAll(async () => {
  await ensureBinary();
  world = await startWorld();
  tmp = mkdtempSync(join(tmpdir(), "snetd-claims-"));
}, 120_000);

afterAll(async () => {
  await world?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** A daemon and the config file `snetd list|claim` share with it (same endpoint, same store). */
interface Setup {
  daemon: DaemonProcess | undefined;
  configFile: string;
  config: Record<string, unknown>;
  echo: grpc.Client;
  start(): Promise<DaemonProcess>;
  stop(): Promise<void>;
}

async function setup(name: string, extra: Record<string, unknown>): Promise<Setup> {
  const endpoint = `127.0.0.1:${await freePort()}`;
  const config = world.daemonConfig({
    daemon_endpoint: endpoint,
    data_dir: join(tmp, `${name}-data`),
    block_cache_ms: 0,
    ...extra,
  });
  const configFile = join(tmp, `${name}.config.json`);
  writeFileSync(configFile, JSON.stringify(config, null, 2), { mode: 0o600 });
  const s: Setup = {
    daemon: undefined,
    configFile,
    config,
    echo: echoClient(endpoint),
    async start() {
      s.daemon = await startDaemon({ config, binary: true });
      return s.daemon;
    },
    async stop() {
      await s.daemon?.stop();
      s.daemon = undefined;
    },
  };
  return s;
}

const cli = (s: Setup, args: string[], env: Record<string, string> = KEY_ENV) =>
  runCli([...args, "-c", s.configFile], { binary: true, env, timeoutMs: CLI_TIMEOUT_MS });

interface ClaimJson {
  claimed_amount: string;
  outcomes: { channel_id: string; nonce: string; amount: string; status: string; tx?: string; reason?: string }[];
}
interface ChannelsJson {
  channels: { channel_id: string; nonce: string; authorised_amount: string; full_amount: string; expiration: string }[];
}

function parseJson<T>(r: { code: number; stdout: string; stderr: string }): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`stdout is not JSON (exit ${r.code}):\n${r.stdout}\nstderr:\n${r.stderr}`);
  }
}

/** `{ id: unclaimed }` of every channel the store holds with something unclaimed. */
async function unclaimedByList(s: Setup): Promise<Map<bigint, bigint>> {
  const r = await cli(s, ["list", "channels", "--json"], {});
  expect(r.code).toBe(0);
  const out = new Map<bigint, bigint>();
  for (const c of parseJson<ChannelsJson>(r).channels)
    if (BigInt(c.authorised_amount) > 0n) out.set(BigInt(c.channel_id), BigInt(c.authorised_amount));
  return out;
}

async function claimsByList(s: Setup): Promise<{ channel_id: string; nonce: string; amount: string }[]> {
  const r = await cli(s, ["list", "claims", "--json"], {});
  expect(r.code).toBe(0);
  return parseJson<{ claims: { channel_id: string; nonce: string; amount: string }[] }>(r).claims;
}

async function pay(s: Setup, ch: Channel, calls: number, nonce = 0n): Promise<bigint> {
  for (let i = 1; i <= calls; i++) {
    const r = await call(s.echo, "Echo", { text: "paid" }, ch.pay(BigInt(i) * world.price, nonce));
    expect(r.status).toMatchObject({ code: grpc.status.OK });
  }
  return BigInt(calls) * world.price;
}

async function paidChannels(s: Setup, calls: number[]): Promise<{ ch: Channel; amount: bigint }[]> {
  const out = [];
  for (const n of calls) {
    const ch = await world.openFundedChannel();
    out.push({ ch, amount: await pay(s, ch, n) });
  }
  return out;
}

const balance = () => mpeBalance(world.deployment, PROVIDER.address);
const nonceOnChain = async (ch: Channel) => (await channelOnChain(world.deployment, ch.id)).nonce;

async function channelState(s: Setup, ch: Channel) {
  const { nonce, amount } = await stateVia(world, s.daemon!.endpoint, ch);
  return { nonce, amount };
}

/** StartClaim straight through the control service, as a treasurer that then dies. */
async function startClaimRpc(s: Setup, ch: Channel, daemonNonce: bigint) {
  const startRpc = daemonRpc(
    s.daemon!.endpoint,
    "/escrow.ProviderControlService/StartClaim",
    StartClaimRequestSchema,
    PaymentReplySchema,
  );
  try {
    const signature = signDigest(
      hexToBytes(PROVIDER.privateKey),
      personalDigest(startClaimMessage(world.deployment.mpe, ch.id, daemonNonce)),
    );
    const r = await startRpc.call({
      mpeAddress: world.deployment.mpe,
      channelId: bigintToMinimalBytes(ch.id),
      signature,
    });
    expect(r.status).toEqual({ code: 0, details: "" });
    return { amount: bytesToBigint(r.reply!.signedAmount), signature: r.reply!.signature };
  } finally {
    startRpc.close();
  }
}

/** A client that signed at the old nonce gets 1000, reads the state and continues from 0 at the new nonce. */
async function clientCarriesOn(s: Setup, ch: Channel, oldNonce: bigint, oldAmount: bigint) {
  const stale = await call(s.echo, "Echo", { text: "old nonce" }, ch.pay(oldAmount + world.price, oldNonce));
  expect(stale.status).toMatchObject({
    code: 1000,
    details: `incorrect payment channel nonce, latest: ${oldNonce + 1n}, sent: ${oldNonce}`,
  });
  const state = await channelState(s, ch);
  expect(state).toEqual({ nonce: oldNonce + 1n, amount: 0n });
  expect((await call(s.echo, "Echo", { text: "new nonce" }, ch.pay(world.price, state.nonce))).status.code).toBe(
    grpc.status.OK,
  );
  expect(await channelState(s, ch)).toEqual({ nonce: oldNonce + 1n, amount: world.price });
}

/** Claims whatever is left so the next test starts with nothing unclaimed. */
async function claimEverything(s: Setup) {
  const r = await cli(s, ["claim", "--all", "-y", "--json"]);
  expect([0, 4]).toContain(r.code);
  expect(await unclaimedByList(s)).toEqual(new Map());
}

describe("with the embedded store", () => {
  let s: Setup;

  beforeAll(async () => {
    s = await setup("sqlite", {});
    await s.start();
  }, 60_000);

  afterAll(async () => {
    s?.echo.close();
    await s?.stop();
  });

  const logs = <T>(fn: () => Promise<T>) => (s.daemon ? s.daemon.showLogsOnFailure(fn) : fn());

  test(
    "list channels shows what each channel owes, as a table and as JSON",
    async () => {
      await logs(async () => {
        const paid = await paidChannels(s, [1, 2, 3]);
        const table = await cli(s, ["list", "channels"], {});
        expect(table.code).toBe(0);
        const header = table.stdout.split("\n")[0]!;
        expect(header).toMatch(/^channel\s+sender\s+nonce\s+unclaimed\s+full amount\s+expires in/);
        for (const { ch, amount } of paid) {
          const row = table.stdout.split("\n").find((l) => l.startsWith(`${ch.id} `));
          expect(row, `no row for channel ${ch.id} in:\n${table.stdout}`).toBeDefined();
          const cells = row!.split(/\s{2,}/);
          expect(cells.slice(0, 5)).toEqual([
            ch.id.toString(),
            ch.client.address,
            "0",
            amount.toString(),
            ch.value.toString(),
          ]);
        }
        const json = parseJson<ChannelsJson>(await cli(s, ["list", "channels", "--json"], {}));
        for (const { ch, amount } of paid) {
          expect(json.channels.find((c) => c.channel_id === ch.id.toString())).toMatchObject({
            nonce: "0",
            authorised_amount: amount.toString(),
            full_amount: ch.value.toString(),
            expiration: ch.expiration.toString(),
          });
        }
      });
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "claim --all --dry-run sends nothing; claim --all moves exactly the unclaimed sum; again: nothing to claim",
    async () => {
      await logs(async () => {
        const owed = await unclaimedByList(s);
        expect(owed.size).toBeGreaterThanOrEqual(3);
        const sum = [...owed.values()].reduce((a, b) => a + b, 0n);
        const before = await balance();

        const dry = await cli(s, ["claim", "--all", "--dry-run", "--json"]);
        expect(dry.code).toBe(0);
        const plan = parseJson<ClaimJson>(dry);
        expect(new Map(plan.outcomes.map((o) => [BigInt(o.channel_id), BigInt(o.amount)]))).toEqual(owed);
        expect(plan.outcomes.every((o) => o.status === "planned" && o.tx === undefined)).toBe(true);
        expect(await balance()).toBe(before);
        expect(await unclaimedByList(s)).toEqual(owed);

        const run = await cli(s, ["claim", "--all", "-y"]);
        expect(run.code).toBe(0);
        expect(run.stdout).toContain(`claimed ${sum} cogs`);
        expect(await balance()).toBe(before + sum);
        for (const id of owed.keys()) expect((await channelOnChain(world.deployment, id)).nonce).toBe(1n);
        expect(await unclaimedByList(s)).toEqual(new Map());
        expect(await claimsByList(s)).toEqual([]);

        const again = await cli(s, ["claim", "--all", "-y", "--json"]);
        expect(again.code).toBe(4);
        expect(parseJson<ClaimJson>(again)).toEqual({ claimed_amount: "0", outcomes: [] });
        expect(await balance()).toBe(before + sum);
      });
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "after a claim, a client on the old nonce gets 1000, reads the state and carries on",
    async () => {
      await logs(async () => {
        const [{ ch, amount }] = (await paidChannels(s, [2])) as [{ ch: Channel; amount: bigint }];
        expect((await cli(s, ["claim", "--channel-id", ch.id.toString(), "-y"])).code).toBe(0);
        await clientCarriesOn(s, ch, 0n, amount);
        await claimEverything(s);
      });
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "--channel-id claims only that channel (key from --private-key-file)",
    async () => {
      await logs(async () => {
        const [a, b] = (await paidChannels(s, [1, 2])) as [
          { ch: Channel; amount: bigint },
          { ch: Channel; amount: bigint },
        ];
        const keyFile = join(tmp, "provider.key");
        writeFileSync(keyFile, `${PROVIDER.privateKey}\n`, { mode: 0o600 });
        const before = await balance();
        const r = await cli(
          s,
          ["claim", "--channel-id", a.ch.id.toString(), "-y", "--json", "--private-key-file", keyFile],
          {},
        );
        expect(r.code).toBe(0);
        const report = parseJson<ClaimJson>(r);
        expect(report.claimed_amount).toBe(a.amount.toString());
        expect(report.outcomes.map((o) => [o.channel_id, o.status])).toEqual([[a.ch.id.toString(), "claimed"]]);
        expect(report.outcomes[0]!.tx).toMatch(/^0x[0-9a-f]{64}$/);
        expect(await balance()).toBe(before + a.amount);
        expect(await nonceOnChain(a.ch)).toBe(1n);
        expect(await nonceOnChain(b.ch)).toBe(0n);
        expect((await unclaimedByList(s)).get(b.ch.id)).toBe(b.amount);
        await claimEverything(s);
      });
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "a key that is not the payment address is refused (exit 2) and never printed",
    async () => {
      await logs(async () => {
        await paidChannels(s, [1]);
        const client = CLIENTS[0]!;
        const before = await balance();
        const keyFile = join(tmp, "client.key");
        writeFileSync(keyFile, client.privateKey, { mode: 0o600 });
        const runs = [
          await cli(s, ["claim", "--all", "-y"], { SNET_PRIVATE_KEY: client.privateKey }),
          await cli(s, ["claim", "--all", "-y", "--json"], { SNET_PRIVATE_KEY: client.privateKey.slice(2) }),
          await cli(s, ["claim", "--all", "-y", "--private-key-file", keyFile], {}),
        ];
        for (const r of runs) {
          expect(r.code).toBe(2);
          expect(r.stderr).toContain(PROVIDER.address);
          expect(r.stderr).toContain(client.address);
          const output = (r.stdout + r.stderr).toLowerCase();
          expect(output).not.toContain(client.privateKey.slice(2).toLowerCase());
          expect(output).not.toContain(PROVIDER.privateKey.slice(2).toLowerCase());
        }
        const none = await cli(s, ["claim", "--all", "-y"], {});
        expect(none.code).toBe(2);
        expect(none.stderr).toContain("no private key");
        expect(await balance()).toBe(before);
        await claimEverything(s);
      });
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "killed after StartClaim: a run without selection submits the started claim, once",
    async () => {
      await logs(async () => {
        const [a, b] = (await paidChannels(s, [3, 1])) as [
          { ch: Channel; amount: bigint },
          { ch: Channel; amount: bigint },
        ];
        const started = await startClaimRpc(s, a.ch, 0n);
        expect(started.amount).toBe(a.amount);
        expect(await claimsByList(s)).toEqual([
          { channel_id: a.ch.id.toString(), nonce: "0", amount: a.amount.toString() },
        ]);
        const table = await cli(s, ["list", "claims"], {});
        expect(table.code).toBe(0);
        expect(table.stdout.split("\n").map((l) => l.split(/\s{2,}/))).toEqual([
          ["channel", "nonce", "amount"],
          [expect.stringMatching(/^-+$/), "-----", "------"],
          [a.ch.id.toString(), "0", a.amount.toString()],
          [""],
        ]);
        const before = await balance();

        const r = await cli(s, ["claim", "-y", "--json"]);
        expect(r.code).toBe(0);
        expect(parseJson<ClaimJson>(r).outcomes.map((o) => [o.channel_id, o.status, o.amount])).toEqual([
          [a.ch.id.toString(), "claimed", a.amount.toString()],
        ]);
        expect(await balance()).toBe(before + a.amount);
        expect(await nonceOnChain(a.ch)).toBe(1n);
        // Not selected, so not claimed.
        expect(await nonceOnChain(b.ch)).toBe(0n);
        expect(await claimsByList(s)).toEqual([]);

        const again = await cli(s, ["claim", "-y"]);
        expect(again.code).toBe(4);
        expect(await balance()).toBe(before + a.amount);
        await claimEverything(s);
      });
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "claim transaction mined but never recorded: the next run sends nothing and reports it",
    async () => {
      await logs(async () => {
        const [{ ch, amount }] = (await paidChannels(s, [2])) as [{ ch: Channel; amount: bigint }];
        const before = await balance();
        await claimOnChain(world.deployment, PROVIDER.privateKey, {
          channelId: ch.id,
          amount,
          signature: signPayment(ch.client.privateKey, world.deployment.mpe, ch.id, 0n, amount),
        });
        expect(await balance()).toBe(before + amount);

        const r = await cli(s, ["claim", "--all", "-y", "--json"]);
        expect(r.code).toBe(0);
        const report = parseJson<ClaimJson>(r);
        expect(report.claimed_amount).toBe("0");
        expect(report.outcomes.map((o) => [o.channel_id, o.status])).toEqual([[ch.id.toString(), "already-claimed"]]);
        expect(report.outcomes[0]!.tx).toBeUndefined();
        expect(await balance()).toBe(before + amount);
        expect(await nonceOnChain(ch)).toBe(1n);
        // The daemon moved on: nothing listed, nothing in progress, and the next run has nothing to do.
        expect(await claimsByList(s)).toEqual([]);
        expect((await unclaimedByList(s)).has(ch.id)).toBe(false);
        expect((await cli(s, ["claim", "--all", "-y"])).code).toBe(4);
        expect(await balance()).toBe(before + amount);
      });
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "StartClaim, then the transaction mined, then killed: the next run pays nothing twice and clears the claim",
    async () => {
      await logs(async () => {
        const [{ ch, amount }] = (await paidChannels(s, [2])) as [{ ch: Channel; amount: bigint }];
        const started = await startClaimRpc(s, ch, 0n);
        const before = await balance();
        await claimOnChain(world.deployment, PROVIDER.privateKey, {
          channelId: ch.id,
          amount: started.amount,
          signature: started.signature,
        });
        expect(await claimsByList(s)).toHaveLength(1);

        // The daemon drops the mined claim when asked for the claims in progress: nothing left to do.
        const r = await cli(s, ["claim", "--all", "-y", "--json"]);
        expect(r.code).toBe(4);
        expect(parseJson<ClaimJson>(r).outcomes).toEqual([]);
        expect(await balance()).toBe(before + amount);
        expect(await claimsByList(s)).toEqual([]);
      });
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "killed between the transaction and its receipt: a run meanwhile sends nothing, the next one finds it done",
    async () => {
      await logs(async () => {
        const paid = await paidChannels(s, [1, 2]);
        const sum = paid.reduce((a, p) => a + p.amount, 0n);
        const before = await balance();
        await setAutomine(false);
        try {
          // First run: sends multiChannelClaim, then dies while the transaction waits in the mempool.
          const first = await spawnClaim(s, ["--all", "-y"]);
          await first.waitFor(/multiChannelClaim 0x[0-9a-f]{64} sent/);
          await first.kill();
          expect(await claimsByList(s)).toHaveLength(2);

          // A run while it is still pending sends nothing more and says why (exit 1: nothing claimed yet).
          const sentBefore = await providerTransactions();
          const meanwhile = await cli(s, ["claim", "--all", "-y", "--json"]);
          expect(meanwhile.code).toBe(1);
          expect(await providerTransactions()).toBe(sentBefore);
          const report = parseJson<ClaimJson>(meanwhile);
          expect(report.outcomes.map((o) => [o.channel_id, o.status, o.reason])).toEqual(
            paid.map(({ ch }) => [
              ch.id.toString(),
              "failed",
              "a claim transaction for this payment is not mined yet; the next run confirms it",
            ]),
          );
          expect(await balance()).toBe(before);
          await rpc(world.anvil.rpcUrl, "evm_mine", []);
        } finally {
          await setAutomine(true);
        }
        expect(await balance()).toBe(before + sum);
        for (const { ch } of paid) expect(await nonceOnChain(ch)).toBe(1n);

        // The daemon drops the mined claims; nothing is sent again.
        const next = await cli(s, ["claim", "--all", "-y"]);
        expect(next.code).toBe(4);
        expect(await balance()).toBe(before + sum);
        expect(await claimsByList(s)).toEqual([]);
      });
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "exit 3 when the chain is unreachable",
    async () => {
      const dead = join(tmp, "dead-chain.config.json");
      writeFileSync(
        dead,
        JSON.stringify({ ...s.config, ethereum_json_rpc_http_endpoint: `http://127.0.0.1:${await freePort()}` }),
      );
      const r = await runCli(["claim", "--all", "-y", "-c", dead], {
        binary: true,
        env: KEY_ENV,
        timeoutMs: CLI_TIMEOUT_MS,
      });
      expect(r.code).toBe(3);
      expect(r.stderr).toContain("cannot reach the Ethereum node");
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "exit 3, store untouched, when something that is not the daemon listens at daemon_endpoint",
    async () => {
      await logs(async () => {
        const [{ ch }] = (await paidChannels(s, [1])) as [{ ch: Channel; amount: bigint }];
        const other = join(tmp, "not-a-daemon.config.json");
        // The test IPFS speaks HTTP/1.1 only: TCP connects, gRPC never becomes ready.
        writeFileSync(other, JSON.stringify({ ...s.config, daemon_endpoint: new URL(world.ipfs.url).host }));
        const r = await runCli(["claim", "--all", "-y", "-c", other], {
          binary: true,
          env: KEY_ENV,
          timeoutMs: CLI_TIMEOUT_MS,
        });
        expect(r.code).toBe(3);
        expect(r.stderr).toContain("but the daemon's control service does not answer there");
        expect(await nonceOnChain(ch)).toBe(0n);
        expect((await unclaimedByList(s)).has(ch.id)).toBe(true);
        await claimEverything(s);
      });
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "with the daemon stopped, claim works on the store directly, and the restarted daemon carries on",
    async () => {
      await logs(async () => {
        const [{ ch, amount }] = (await paidChannels(s, [3])) as [{ ch: Channel; amount: bigint }];
        await s.stop();
        const before = await balance();
        const r = await cli(s, ["claim", "--all", "-y"]);
        expect(r.code).toBe(0);
        expect(r.stderr).toContain(
          `no daemon answers at ${s.config.daemon_endpoint}; claiming directly from the sqlite store`,
        );
        expect(await balance()).toBe(before + amount);
        expect(await nonceOnChain(ch)).toBe(1n);
        expect(await claimsByList(s)).toEqual([]);

        await s.start();
        await clientCarriesOn(s, ch, 0n, amount);
      });
    },
    E2E_TIMEOUT_MS,
  );
});

describe("with etcd", () => {
  let etcd: EtcdCluster;
  let s: Setup;

  beforeAll(async () => {
    etcd = await startEtcd();
    s = await setup("etcd", {
      payment_channel_storage_type: "etcd",
      payment_channel_storage_client: { endpoints: etcd.endpoints },
    });
    await s.start();
  }, 60_000);

  afterAll(async () => {
    s?.echo.close();
    await s?.stop();
    await etcd?.stop();
  });

  test(
    "claim through the daemon, then with the daemon stopped straight from etcd",
    async () => {
      await s.daemon!.showLogsOnFailure(async () => {
        const paid = await paidChannels(s, [1, 2]);
        let before = await balance();
        const viaDaemon = await cli(s, ["claim", "--all", "-y", "--json"]);
        expect(viaDaemon.code).toBe(0);
        const sum = paid.reduce((a, p) => a + p.amount, 0n);
        expect(parseJson<ClaimJson>(viaDaemon).claimed_amount).toBe(sum.toString());
        expect(await balance()).toBe(before + sum);
        for (const { ch, amount } of paid) await clientCarriesOn(s, ch, 0n, amount);

        // Each channel now owes one call at nonce 1.
        await s.stop();
        before = await balance();
        const direct = await cli(s, ["claim", "--all", "-y"]);
        expect(direct.code).toBe(0);
        expect(direct.stderr).toContain("claiming directly from the etcd store");
        expect(await balance()).toBe(before + 2n * world.price);
        for (const { ch } of paid) expect(await nonceOnChain(ch)).toBe(2n);
        expect((await cli(s, ["claim", "--all", "-y"])).code).toBe(4);
      });
    },
    E2E_TIMEOUT_MS,
  );
});

/** Transactions the provider has sent, mempool included. */
async function providerTransactions(): Promise<bigint> {
  return BigInt(await rpc<string>(world.anvil.rpcUrl, "eth_getTransactionCount", [PROVIDER.address, "pending"]));
}

async function setAutomine(on: boolean) {
  await rpc(world.anvil.rpcUrl, "evm_setAutomine", [on]);
}

/** `snetd claim` as a child we can kill mid-run; stderr is watched for progress lines. */
async function spawnClaim(s: Setup, args: string[]) {
  const env: Record<string, string> = { NO_COLOR: "1", ...KEY_ENV };
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("SNET_")) env[k] = v;
  env.SNET_PRIVATE_KEY = PROVIDER.privateKey;
  const proc = Bun.spawn({
    cmd: [SNETD_BINARY, "claim", ...args, "-c", s.configFile],
    cwd: tmp,
    env,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let stderr = "";
  const stdout = new Response(proc.stdout).text();
  const stderrDone = (async () => {
    const decoder = new TextDecoder();
    const reader = proc.stderr.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      stderr += decoder.decode(value, { stream: true });
    }
  })();
  const kill = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
    await proc.exited;
  };
  cleanups.add(kill);
  return {
    async waitFor(pattern: RegExp, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(stderr)) {
        if (proc.exitCode !== null)
          throw new Error(
            `snetd claim exited with ${proc.exitCode} before printing ${pattern}; stderr:\n${stderr}\nstdout:\n${await stdout}`,
          );
        if (Date.now() > deadline) {
          await kill();
          throw new Error(`snetd claim did not print ${pattern} within ${timeoutMs} ms; stderr:\n${stderr}`);
        }
        await Bun.sleep(50);
      }
    },
    kill,
    async done(timeoutMs = CLI_TIMEOUT_MS) {
      const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
      try {
        const code = await proc.exited;
        await stderrDone;
        return { code, stdout: await stdout, stderr };
      } finally {
        clearTimeout(timer);
        cleanups.delete(kill);
      }
    },
  };
}

const cleanups = new Set<() => Promise<void>>();
afterAll(async () => {
  for (const k of cleanups) await k();
});
