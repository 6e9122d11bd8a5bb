/**
 * A complete paid setup on loopback, assembled from the kit: anvil with the real contracts, the test
 * IPFS, the example AI service, org + service published on the Registry exactly as snet-cli does, and
 * a daemon config pointing at all of it. Used by the end-to-end suites, `npm run demo` and the benchmark.
 */

import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Address, Hex } from "viem";
import { bigintToMinimalBytes } from "../../src/core/numbers.ts";
import { type Anvil, blockNumber, startAnvil } from "./anvil.ts";
import {
  channelOnChain,
  fundClient,
  openChannel,
  paymentMetadata,
  signChannelStateRequest,
  signPayment,
} from "./client.ts";
import { CLIENTS, type Deployment, deployContracts, PROVIDER, type TestAccount } from "./contracts.ts";
import { type EchoService, startEchoService } from "./echo-service.ts";
import { type IpfsServer, startIpfsServer } from "./ipfs-server.ts";
import {
  buildOrgMetadata,
  buildProtoArchive,
  buildServiceMetadata,
  type GroupId,
  type MethodPricingInput,
  publishService,
  randomGroupId,
} from "./registry-publish.ts";

export const ORG_ID = "snet-test-org";
export const SERVICE_ID = "example-service";
export const GROUP_NAME = "default_group";

export interface WorldOptions {
  price?: bigint;
  expirationThreshold?: bigint;
  methodPricing?: MethodPricingInput;
  freeCallSignerAddress?: Address;
  freeCalls?: number;
  etcdEndpoints?: string[];
  /** The group's daemon `endpoints` in the service metadata; clients that find the daemon there dial the first. */
  endpoints?: string[];
  /** The service metadata's `service_type` (default grpc) and `encoding` (default proto). */
  serviceType?: "grpc" | "jsonrpc" | "process" | "http";
  encoding?: "proto" | "json";
  /** The proto archive's files (entry name → text); default: the echo service's echo.proto. */
  protos?: Record<string, string>;
}

export interface World {
  anvil: Anvil;
  deployment: Deployment;
  ipfs: IpfsServer;
  echo: EchoService;
  group: GroupId;
  price: bigint;
  expirationThreshold: bigint;
  /** A daemon configuration for this world; extra keys override. */
  daemonConfig(extra?: Record<string, unknown>): Record<string, unknown>;
  /** Funds a client and opens a channel to the provider; expiration defaults to head + threshold + 1000. */
  openFundedChannel(opts?: { client?: TestAccount; value?: bigint; expiration?: bigint }): Promise<Channel>;
  head(): Promise<bigint>;
  stop(): Promise<void>;
}

export interface Channel {
  id: bigint;
  client: TestAccount;
  value: bigint;
  expiration: bigint;
  /** Escrow metadata for the payment of `amount` (cumulative) at `nonce`. */
  pay(amount: bigint, nonce?: bigint): Record<string, string | Buffer>;
  /** A signed GetChannelState request at the current head. */
  stateRequest(currentBlock: bigint): { channel_id: Uint8Array; signature: Uint8Array; current_block: bigint };
}

let clientIndex = 0;

export async function startWorld(opts: WorldOptions = {}): Promise<World> {
  const price = opts.price ?? 100n;
  const expirationThreshold = opts.expirationThreshold ?? 100n;
  const anvil = await startAnvil();
  const started: { stop(): Promise<void> }[] = [anvil];
  try {
    const deployment = await deployContracts(anvil.rpcUrl);
    const ipfs = await startIpfsServer();
    started.push(ipfs);
    const echo = await startEchoService();
    started.push(echo);
    const group = randomGroupId();
    const orgMetadata = buildOrgMetadata({
      orgId: ORG_ID,
      groupName: GROUP_NAME,
      groupIdBase64: group.base64,
      paymentAddress: PROVIDER.address,
      expirationThreshold,
      ...(opts.etcdEndpoints ? { etcdEndpoints: opts.etcdEndpoints } : {}),
    });
    const serviceMetadata = buildServiceMetadata({
      mpeAddress: deployment.mpe,
      groupName: GROUP_NAME,
      groupIdBase64: group.base64,
      priceInCogs: price,
      ...(opts.endpoints ? { endpoints: opts.endpoints } : {}),
      ...(opts.methodPricing ? { methodPricing: opts.methodPricing } : {}),
      ...(opts.freeCallSignerAddress ? { freeCallSignerAddress: opts.freeCallSignerAddress } : {}),
      ...(opts.freeCalls !== undefined ? { freeCalls: opts.freeCalls } : {}),
      ...(opts.serviceType ? { serviceType: opts.serviceType } : {}),
      ...(opts.encoding ? { encoding: opts.encoding } : {}),
    });
    const protoArchive = await buildProtoArchive(
      opts.protos ?? { "echo.proto": readFileSync(join(import.meta.dir, "echo.proto"), "utf8") },
    );
    await publishService({
      deployment,
      ipfs,
      orgId: ORG_ID,
      serviceId: SERVICE_ID,
      orgMetadata,
      serviceMetadata,
      protoArchive,
    });

    const world: World = {
      anvil,
      deployment,
      ipfs,
      echo,
      group,
      price,
      expirationThreshold,
      daemonConfig(extra = {}) {
        return {
          blockchain_enabled: true,
          blockchain_network_selected: "local",
          ethereum_json_rpc_http_endpoint: anvil.rpcUrl,
          registry_address_key: deployment.registry,
          organization_id: ORG_ID,
          service_id: SERVICE_ID,
          daemon_group_name: GROUP_NAME,
          service_endpoint: `http://${echo.address}`,
          ipfs_endpoint: ipfs.url,
          payment_channel_storage_type: "sqlite",
          // Anvil mines a block per transaction; a short cache keeps tests from waiting.
          block_cache_ms: 100,
          log: { level: "debug" },
          ...extra,
        };
      },
      async openFundedChannel(o = {}) {
        const client = o.client ?? (CLIENTS[clientIndex++ % CLIENTS.length] as TestAccount);
        const value = o.value ?? 1_000_000n;
        const expiration = o.expiration ?? (await blockNumber(anvil.rpcUrl)) + expirationThreshold + 1000n;
        await fundClient(deployment, client.privateKey, value);
        const id = await openChannel(deployment, {
          clientKey: client.privateKey,
          recipient: PROVIDER.address,
          groupIdBytes: group.bytes,
          value,
          expiration,
        });
        return {
          id,
          client,
          value,
          expiration,
          pay: (amount, nonce = 0n) =>
            paymentMetadata({
              channelId: id,
              nonce,
              amount,
              signature: signPayment(client.privateKey, deployment.mpe, id, nonce, amount),
            }),
          stateRequest: (currentBlock) => ({
            channel_id: bigintToMinimalBytes(id),
            signature: signChannelStateRequest(client.privateKey, deployment.mpe, id, currentBlock),
            current_block: currentBlock,
          }),
        };
      },
      head: () => blockNumber(anvil.rpcUrl),
      async stop() {
        for (const s of started.reverse()) await s.stop().catch(() => {});
      },
    };
    return world;
  } catch (err) {
    for (const s of started.reverse()) await s.stop().catch(() => {});
    throw err;
  }
}

export { channelOnChain, type Hex };
