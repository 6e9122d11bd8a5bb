/**
 * Everything the payment features need, built once from the configuration: chain client, metadata,
 * the served group, the store and its key namespace. Shared by `serve`, `list`, `claim` and `freecall`.
 * Every failure here names what failed and what to change (INVALID_ARGUMENT: exit 2, UNAVAILABLE: exit 3).
 */
import { readFile } from "node:fs/promises";
import type { PublicClient } from "viem";
import { type BlockSource, blockSource, chainClient, type MpeReader, mpeReader, shortError } from "../chain/mpe.ts";
import { watchChannelEvents } from "../chain/mpe-events.ts";
import type { Config } from "../config/schema.ts";
import { KNOWN_NETWORKS } from "../config/schema.ts";
import { chainUnreachable, metadataUnavailable, noRpcEndpoint } from "../core/messages/startup.ts";
import { bytesToHex } from "../core/numbers.ts";
import type { Address } from "../core/signatures.ts";
import { createMetadataView, type MetadataView } from "../metadata/live-view.ts";
import type { DaemonGroup, OrgMetadata, ServiceMetadata } from "../metadata/model.ts";
import { type LoadedMetadata, loadMetadata, type ProtoNeed } from "../metadata/resolve.ts";
import type { Logger } from "../ops/log.ts";
import { type ChannelBook, channelBook } from "../payments/channel-book.ts";
import type { Store } from "../store/contract.ts";
import { memoryStore } from "../store/memory.ts";
import { type Keys, keys as keysOf, namespacePrefix } from "../store/records.ts";
import { openStore } from "./open-store.ts";

export interface PaymentContext {
  config: Config;
  client: PublicClient;
  chainId: number;
  blocks: BlockSource;
  mpe: MpeReader;
  /** The served group and both documents: live, read from `metadata` on every access. */
  readonly group: DaemonGroup;
  readonly org: OrgMetadata;
  readonly service: ServiceMetadata;
  /** Swapped by app/live-metadata.ts when the Registry publishes new documents. */
  metadata: MetadataView;
  /** The service's .proto files (entry name → text), when `ContextOptions.protos` asked for them. */
  protos?: Record<string, string>;
  /** Why proto files asked for as "optional" could not be loaded. */
  protosProblem?: string;
  store: Store;
  prefix: string;
  keys: Keys;
  book: ChannelBook;
  close(): Promise<void>;
}

export function rpcUrlOf(config: Config): string {
  const url = config.ethereum_json_rpc_http_endpoint;
  if (url) return url;
  throw noRpcEndpoint(config.blockchain_network_selected);
}

export interface ContextOptions {
  /** "none": the caller talks to a running daemon instead (claim); "read-only": list next to a daemon. */
  store?: "read-write" | "read-only" | "none";
  /** Follow MPE events so channels changed on-chain are re-read (serve); tools read the chain directly. */
  watchEvents?: boolean;
  /** Load the service's proto files when this says so, given the service metadata (serve). */
  protos?: (service: ServiceMetadata) => ProtoNeed;
  /** Wraps the opened store (serve measures commit latency through it). */
  wrapStore?: (store: Store) => Store;
  /** Why a new metadata version cannot be applied without a restart (serve's live metadata). */
  restartNeeded?: Parameters<typeof createMetadataView>[1];
}

/** Both metadata documents and the served group, as configured (Registry + IPFS, or local files). */
export function loadServedMetadata(
  config: Config,
  client: PublicClient,
  log: Logger,
  needProtos?: (service: ServiceMetadata) => ProtoNeed,
): Promise<LoadedMetadata> {
  return loadMetadata(
    { publicClient: client, readFile: (f) => readFile(f), log: (m) => log.info(m) },
    {
      organization_id: config.organization_id,
      service_id: config.service_id,
      daemon_group_name: config.daemon_group_name,
      ...(config.registry_address_key ? { registry_address: config.registry_address_key } : {}),
      ipfs_endpoint: config.ipfs_endpoint,
      ipfs_timeout_s: config.ipfs_timeout,
      lighthouse_endpoint: config.lighthouse_endpoint,
      ...(config.organization_metadata_file ? { organization_metadata_file: config.organization_metadata_file } : {}),
      ...(config.service_metadata_file ? { service_metadata_file: config.service_metadata_file } : {}),
      ...(config.service_proto_dir ? { service_proto_dir: config.service_proto_dir } : {}),
      ...(needProtos ? { needProtos } : {}),
    },
  );
}

export async function paymentContext(config: Config, log: Logger, opts: ContextOptions = {}): Promise<PaymentContext> {
  const rpcUrl = rpcUrlOf(config);
  const client = chainClient(rpcUrl, {
    ...(config.blockchain_provider_api_key ? { apiKey: config.blockchain_provider_api_key } : {}),
  });
  let chainId: number;
  try {
    chainId = await client.getChainId();
  } catch (err) {
    throw chainUnreachable(rpcUrl, shortError(err), err);
  }
  const network = (KNOWN_NETWORKS as Record<string, { chainId: bigint } | undefined>)[
    config.blockchain_network_selected
  ];
  if (network && network.chainId !== BigInt(chainId)) {
    log.warn(
      `blockchain_network_selected is "${config.blockchain_network_selected}" but the node at ${rpcUrl} reports chain id ${chainId}; using the node's chain`,
    );
  }

  let meta: LoadedMetadata;
  try {
    meta = await loadServedMetadata(config, client, log, opts.protos);
  } catch (err) {
    throw metadataUnavailable((err as Error).message, err);
  }
  const { group } = meta;
  const mpeAddress = group.mpeAddress.toLowerCase() as Address;
  const storeMode = opts.store ?? "read-write";
  const opened =
    storeMode === "none"
      ? memoryStore()
      : await openStore(config, group, storeMode === "read-only" ? { readOnly: true } : {});
  const store = opts.wrapStore ? opts.wrapStore(opened) : opened;
  const prefix = namespacePrefix({
    chainId,
    mpe: mpeAddress,
    orgId: group.orgId,
    groupIdHex: bytesToHex(group.groupId) as `0x${string}`,
  });
  const keys = keysOf(prefix);
  const blocks = blockSource(client, { maxAgeMs: config.block_cache_ms });
  const mpe = mpeReader(client, mpeAddress);
  const freshness = opts.watchEvents
    ? watchChannelEvents(client, mpeAddress, {
        intervalMs: Math.max(config.block_cache_ms, 500),
        onError: (err) => log.debug("MPE event poll failed", { error: shortError(err) }),
      })
    : undefined;
  const book = channelBook({
    ...(freshness ? { freshness } : {}),
    store,
    keys,
    mpe,
    groupIdHex: bytesToHex(group.groupId) as `0x${string}`,
    paymentAddress: group.paymentAddress.toLowerCase() as Address,
  });
  const metadata = createMetadataView({ group, org: meta.org, service: meta.service }, opts.restartNeeded);
  return {
    config,
    client,
    chainId,
    blocks,
    mpe,
    get group() {
      return metadata.current().group;
    },
    get org() {
      return metadata.current().org;
    },
    get service() {
      return metadata.current().service;
    },
    metadata,
    ...(meta.protos ? { protos: meta.protos } : {}),
    ...(meta.protosProblem ? { protosProblem: meta.protosProblem } : {}),
    store,
    prefix,
    keys,
    book,
    ...(meta.protos ? { protos: meta.protos } : {}),
    async close() {
      blocks.stop();
      freshness?.stop();
      await store.close();
    },
  };
}
