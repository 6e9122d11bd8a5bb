/**
 * Everything one benchmark run measures against, on loopback: the kit's world (anvil with the contracts,
 * IPFS, the example service, org and service published), a counting proxy in front of anvil, a
 * single-member etcd, one funded channel per concurrent stream, and four daemons from dist/snetd:
 * payments off, paid with the embedded store (SQLite), paid with etcd, and paid in front of an HTTP/JSON
 * service (a second service of the organization, service_type http, on the embedded store).
 */
import { join } from "node:path";
import { blockNumber } from "../tests/kit/anvil.ts";
import { CALC_PROTOS, type CalcService, startCalcHttpService } from "../tests/kit/calc-service.ts";
import { fundClient, openChannel } from "../tests/kit/client.ts";
import { CLIENTS, PROVIDER, type TestAccount } from "../tests/kit/contracts.ts";
import { type DaemonProcess, startDaemon } from "../tests/kit/daemon.ts";
import { type EtcdCluster, startEtcd } from "../tests/kit/etcd.ts";
import {
  buildOrgMetadata,
  buildProtoArchive,
  buildServiceMetadata,
  publishService,
} from "../tests/kit/registry-publish.ts";
import { GROUP_NAME, ORG_ID, startWorld, type World } from "../tests/kit/world.ts";
import { type PaymentSequence, paymentSequence } from "./messages.ts";
import { rssMb } from "./proc.ts";
import { type RpcCounter, startRpcCounter } from "./rpc-counter.ts";

/**
 * All load comes from 127.0.0.1: the per-address limits (src/config/limit-keys.ts) would measure themselves
 * (the GetChannelState row alone runs thousands of calls a second), so the bench daemons turn them off.
 */
const ONE_ADDRESS = {
  max_connections_per_address: 0,
  rate_limit_daemon_rpc_per_address_per_minute: 0,
  rate_limit_token_rpc_per_address_per_minute: 0,
};

export interface BenchChannel {
  id: bigint;
  client: TestAccount;
  /** Pre-signed payments of this channel, shared by every daemon (each store starts at amount 0). */
  payments: PaymentSequence;
}

export interface BenchDaemon {
  name: "passthrough" | "sqlite" | "etcd" | "http";
  process: DaemonProcess;
  /** Resident set right after start, before any call (MiB). */
  idleRssMb?: number;
  /** Successful paid calls so far on each channel, in this daemon's store. */
  paid: number[];
  /** The SQLite file of the embedded store, for counting its transactions. */
  sqliteFile?: string;
}

export interface Stack {
  world: World;
  etcd: EtcdCluster;
  rpc: RpcCounter;
  channels: BenchChannel[];
  price: bigint;
  daemons: Record<BenchDaemon["name"], BenchDaemon>;
  /** The calculator as an HTTP/JSON service (tests/kit/calc-service.ts), sold by the "http" daemon. */
  httpService: CalcService;
  /** A config for a paid daemon of this world (start-to-ready, profiling). */
  paidConfig(extra?: Record<string, unknown>): Record<string, unknown>;
  stop(): Promise<void>;
}

/** The signer recovery a paid daemon logged at start ("libsecp256k1" or the "noble" fallback). */
export function signerRecoveryOf(daemon: BenchDaemon): string {
  return /signer_recovery="([^"]+)"/.exec(daemon.process.logs())?.[1] ?? "unknown";
}

// Enough for every call a run can make on one channel (tens of thousands at most).
const CHANNEL_VALUE = 10n ** 15n;
const LOG = { level: "info" };

export async function startStack(opts: { channels: number; log: (line: string) => void }): Promise<Stack> {
  const stoppers: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of stoppers.slice().reverse()) await s().catch(() => {});
  };
  try {
    opts.log("starting anvil, IPFS, the example service and etcd");
    const [worldStart, etcdStart] = await Promise.allSettled([startWorld(), startEtcd()]);
    if (worldStart.status === "fulfilled") stoppers.push(() => worldStart.value.stop());
    if (etcdStart.status === "fulfilled") stoppers.push(() => etcdStart.value.stop());
    if (worldStart.status === "rejected") throw worldStart.reason;
    if (etcdStart.status === "rejected") throw etcdStart.reason;
    const world = worldStart.value;
    const etcd = etcdStart.value;
    const rpc = startRpcCounter(world.anvil.rpcUrl);
    stoppers.push(async () => rpc.stop());

    opts.log(`opening ${opts.channels} channels`);
    const channels = await openChannels(world, opts.channels);

    // Production defaults (1 s head cache, info logs); the kit's world config is tuned for tests.
    const paidConfig = (extra: Record<string, unknown> = {}) =>
      world.daemonConfig({
        ethereum_json_rpc_http_endpoint: rpc.url,
        block_cache_ms: 1000,
        log: LOG,
        ...ONE_ADDRESS,
        ...extra,
      });
    opts.log("starting the daemons (dist/snetd)");
    const start = async (name: BenchDaemon["name"], config: Record<string, unknown>): Promise<BenchDaemon> => {
      const proc = await startDaemon({ config, binary: true });
      stoppers.push(() => proc.stop());
      return { name, process: proc, idleRssMb: rssMb(proc.pid), paid: new Array<number>(channels.length).fill(0) };
    };
    const passthrough = await start("passthrough", {
      service_endpoint: `http://${world.echo.address}`,
      blockchain_enabled: false,
      log: LOG,
      ...ONE_ADDRESS,
    });
    const sqlite = await start("sqlite", paidConfig());
    // data_dir defaults to ./snetd-data, relative to the daemon's working directory (its temp dir).
    sqlite.sqliteFile = join(sqlite.process.dir, "snetd-data", "snetd-state.sqlite");
    const etcdDaemon = await start(
      "etcd",
      paidConfig({
        payment_channel_storage_type: "etcd",
        payment_channel_storage_client: { endpoints: etcd.endpoints },
      }),
    );
    const httpService = startCalcHttpService();
    stoppers.push(() => httpService.stop());
    await publishHttpService(world);
    const http = await start("http", paidConfig({ service_id: HTTP_SERVICE_ID, service_endpoint: httpService.url }));
    http.sqliteFile = join(http.process.dir, "snetd-data", "snetd-state.sqlite");

    return {
      world,
      etcd,
      rpc,
      channels,
      price: world.price,
      daemons: { passthrough, sqlite, etcd: etcdDaemon, http },
      httpService,
      paidConfig,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

export const HTTP_SERVICE_ID = "calc-http";

/** A second service of the world's organization: the calculator, service_type http, same group and price. */
async function publishHttpService(world: World): Promise<void> {
  const { deployment, ipfs, group, price, expirationThreshold } = world;
  await publishService({
    deployment,
    ipfs,
    orgId: ORG_ID,
    serviceId: HTTP_SERVICE_ID,
    orgMetadata: buildOrgMetadata({
      orgId: ORG_ID,
      groupName: GROUP_NAME,
      groupIdBase64: group.base64,
      paymentAddress: PROVIDER.address,
      expirationThreshold,
    }),
    serviceMetadata: buildServiceMetadata({
      mpeAddress: deployment.mpe,
      groupName: GROUP_NAME,
      groupIdBase64: group.base64,
      priceInCogs: price,
      serviceType: "http",
    }),
    protoArchive: await buildProtoArchive(CALC_PROTOS),
  });
}

/**
 * Funds each client account once and opens its share of the channels: 3 transactions per client plus
 * one per channel, clients in parallel (the kit serializes transactions per sender).
 */
async function openChannels(world: World, count: number): Promise<BenchChannel[]> {
  const { deployment } = world;
  const expiration = (await blockNumber(world.anvil.rpcUrl)) + 1_000_000n;
  const byClient = CLIENTS.map((client, c) => ({
    client,
    indexes: Array.from({ length: count }, (_, i) => i).filter((i) => i % CLIENTS.length === c),
  }));
  const channels = new Array<BenchChannel>(count);
  await Promise.all(
    byClient
      .filter((g) => g.indexes.length > 0)
      .map(async ({ client, indexes }) => {
        await fundClient(deployment, client.privateKey, CHANNEL_VALUE * BigInt(indexes.length));
        for (const i of indexes) {
          const id = await openChannel(deployment, {
            clientKey: client.privateKey,
            recipient: PROVIDER.address,
            groupIdBytes: world.group.bytes,
            value: CHANNEL_VALUE,
            expiration,
          });
          channels[i] = { id, client, payments: paymentSequence(client.privateKey, deployment.mpe, id, world.price) };
        }
      }),
  );
  return channels;
}
