/**
 * Publishing an organization and a service the way snet-cli does (protocol/metadata.md): metadata JSON to
 * IPFS, then the Registry entries with bytes32 ids and NUL-padded `ipfs://<CID>` URIs.
 *
 * @example
 * const group = randomGroupId();
 * await publishService({ deployment, ipfs, orgId: "snet-test-org", serviceId: "example-service",
 *   orgMetadata: buildOrgMetadata({ orgId: "snet-test-org", groupName: "default_group", groupIdBase64: group.base64,
 *     paymentAddress: PROVIDER.address, expirationThreshold: 100n }),
 *   serviceMetadata: buildServiceMetadata({ mpeAddress: deployment.mpe, groupName: "default_group",
 *     groupIdBase64: group.base64, priceInCogs: 100n }) });
 */
import { createTarGzip } from "nanotar";
import type { Address, Hex } from "viem";
import { bytesToHex, concatBytes, hexToBytes } from "../../src/core/numbers.ts";
import { type Deployment, PROVIDER, registryAbi, sendContractTx } from "./contracts.ts";

/** What publishing needs from an IPFS node; tests/kit/ipfs-server.ts provides the real one. */
export interface IpfsLike {
  add(content: Uint8Array, name?: string): Promise<string /* CID */>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Org / service id as bytes32: UTF-8 right-padded with 0x00; longer than 32 bytes is refused, not truncated. */
export function idToBytes32(id: string): Hex {
  const bytes = encoder.encode(id);
  if (bytes.length > 32) throw new RangeError(`id "${id}" is ${bytes.length} bytes in UTF-8, expected at most 32`);
  const out = new Uint8Array(32);
  out.set(bytes);
  return bytesToHex(out) as Hex;
}

/** On-chain URI bytes as snet-cli writes them: NUL-padded to the next multiple of 32, at least one NUL. */
export function metadataUriBytes(uri: string): Hex {
  const bytes = encoder.encode(uri);
  const padded = (Math.floor(bytes.length / 32) + 1) * 32;
  return bytesToHex(concatBytes(bytes, new Uint8Array(padded - bytes.length))) as Hex;
}

/** The URI text of on-chain bytes: trailing NULs stripped. */
export function metadataUriText(bytes: Hex): string {
  const raw = hexToBytes(bytes);
  let end = raw.length;
  while (end > 0 && raw[end - 1] === 0) end--;
  return decoder.decode(raw.subarray(0, end));
}

export interface GroupId {
  bytes: Uint8Array;
  base64: string;
}

/** 32 random bytes, the way snet-cli creates a group id. */
export function randomGroupId(): GroupId {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return { bytes, base64: Buffer.from(bytes).toString("base64") };
}

// Metadata JSON carries prices as numbers (clients parse them so); tests use small ones.
function jsonNumber(value: bigint, what: string): number {
  if (value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER))
    throw new RangeError(`${what} ${value} does not fit a JSON number exactly, expected 0..2^53-1`);
  return Number(value);
}

export interface OrgMetadataInput {
  orgId: string;
  groupName: string;
  groupIdBase64: string;
  paymentAddress: Address;
  /** Blocks a channel must outlive the head by (protocol/payments.md#expiry-threshold). */
  expirationThreshold: bigint;
  /** The group's etcd URLs (snet-cli requires at least one); ours takes storage from config first. */
  etcdEndpoints?: string[];
}

/** The reference's default etcd URL: a placeholder unless a daemon runs with etcd storage and no endpoints. */
export const DEFAULT_ETCD_ENDPOINT = "http://127.0.0.1:2379";

/**
 * Organization metadata with one group that passes snet-cli 3.1.1's `snet organization validate-metadata`
 * (protocol/metadata.md#organization-metadata; tests/interop/metadata-validate.test.ts runs the real validator on it).
 */
export function buildOrgMetadata(input: OrgMetadataInput): Record<string, unknown> {
  return {
    org_name: `Test org ${input.orgId}`,
    org_id: input.orgId,
    org_type: "individual",
    description: {
      description: `The organization the snetd test suites publish on a throw-away chain (${input.orgId}).`,
      short_description: "snetd test organization",
      url: "https://example.com/snetd-tests",
    },
    assets: {},
    contacts: [{ contact_type: "general", email: "tests@example.com", phone: "" }],
    groups: [
      {
        group_name: input.groupName,
        group_id: input.groupIdBase64,
        payment: {
          payment_address: input.paymentAddress,
          payment_expiration_threshold: jsonNumber(input.expirationThreshold, "expiration threshold"),
          payment_channel_storage_type: "etcd",
          payment_channel_storage_client: {
            connection_timeout: "5s",
            request_timeout: "3s",
            endpoints: input.etcdEndpoints ?? [DEFAULT_ETCD_ENDPOINT],
          },
        },
      },
    ],
  };
}

export interface MethodPricingInput {
  /** Proto package; empty string for none (then the path is `/<service>/<method>`). */
  package: string;
  service: string;
  methods: Record<string, bigint>;
}

export interface ServiceMetadataInput {
  mpeAddress: Address;
  groupName: string;
  groupIdBase64: string;
  priceInCogs: bigint;
  freeCallSignerAddress?: Address;
  freeCalls?: number;
  methodPricing?: MethodPricingInput;
  /** The daemon's public URLs, for clients (they dial the first); the daemon does not read them. */
  endpoints?: string[];
  /** The daemons' Ethereum addresses (`snet service metadata-add-daemon-addresses`); the provider's by default. */
  daemonAddresses?: Address[];
  serviceType?: "grpc" | "jsonrpc" | "process" | "http";
  encoding?: "proto" | "json";
}

/** Where clients look for the daemon when a test passes no `endpoints`: the reference's default port, dialed by no test. */
export const DEFAULT_DAEMON_URL = "http://127.0.0.1:8080";

/**
 * Service metadata with one group (protocol/metadata.md#service-metadata); without `methodPricing` it passes snet-cli 3.1.1's
 * `snet service validate-metadata` (its schema knows only `fixed_price` and `method_price` entries). The `fixed_price` entry comes first so every client
 * computes the same price (protocol/payments.md#pricing); it is the default unless `methodPricing` is given, in which
 * case the `fixed_price_per_method` entry is the default, since the daemon prices by the default entry only.
 */
export function buildServiceMetadata(input: ServiceMetadataInput): Record<string, unknown> {
  const pricing: Record<string, unknown>[] = [
    {
      price_model: "fixed_price",
      price_in_cogs: jsonNumber(input.priceInCogs, "price"),
      default: input.methodPricing === undefined,
    },
  ];
  if (input.methodPricing) {
    const { package: packageName, service, methods } = input.methodPricing;
    pricing.push({
      price_model: "fixed_price_per_method",
      ...(packageName === "" ? {} : { package_name: packageName }),
      default: true,
      details: [
        {
          service_name: service,
          method_pricing: Object.entries(methods).map(([method, price]) => ({
            method_name: method,
            price_in_cogs: jsonNumber(price, `price of "${method}"`),
          })),
        },
      ],
    });
  }
  return {
    version: 1,
    display_name: "Test service",
    encoding: input.encoding ?? "proto",
    service_type: input.serviceType ?? "grpc",
    // Required by snet-cli's schema, where "" then requires `service_api_source`; snet-sdk-python 6.0.0
    // refuses "", so publishService() sets it to the proto archive's CID along with `service_api_source`.
    model_ipfs_hash: "",
    mpe_address: input.mpeAddress,
    groups: [
      {
        group_name: input.groupName,
        group_id: input.groupIdBase64,
        pricing,
        endpoints: input.endpoints ?? [DEFAULT_DAEMON_URL],
        daemon_addresses: input.daemonAddresses ?? [PROVIDER.address],
        free_calls: input.freeCalls ?? 0,
        ...(input.freeCallSignerAddress === undefined ? {} : { free_call_signer_address: input.freeCallSignerAddress }),
      },
    ],
    service_description: {
      url: "https://example.com/snetd-tests/echo",
      short_description: "Echoes the request text (snetd test service)",
      description:
        "The example AI service of the snetd test kit: answers each call with the text it was sent and the payment it saw.",
    },
    contributors: [{ name: "snetd tests", email_id: "tests@example.com" }],
    tags: ["test"],
  };
}

/** A `.tar.gz` of the given files (name → text), as snet-cli ≥ 3.0 uploads a service's protos. */
export async function buildProtoArchive(files: Record<string, string>): Promise<Uint8Array> {
  // A fixed mtime keeps the archive, and so its CID, the same from run to run.
  return createTarGzip(
    Object.entries(files).map(([name, data]) => ({ name, data })),
    { attrs: { mtime: 0 } },
  );
}

export interface PublishServiceOptions {
  deployment: Deployment;
  ipfs: IpfsLike;
  orgId: string;
  serviceId: string;
  orgMetadata: object;
  serviceMetadata: object;
  protoArchive?: Uint8Array;
  /** Org owner; the provider (account 1) by default. */
  ownerKey?: Hex;
}

export interface PublishServiceResult {
  orgMetadataCid: string;
  serviceMetadataCid: string;
  protoCid?: string;
}

/**
 * Uploads the documents and registers them. An existing org or service gets its metadata URI replaced
 * (the owner must be the same), so calling it again republishes, emitting the modification events.
 */
export async function publishService(opts: PublishServiceOptions): Promise<PublishServiceResult> {
  const { deployment, ipfs } = opts;
  const ownerKey = opts.ownerKey ?? PROVIDER.privateKey;
  const orgId32 = idToBytes32(opts.orgId);
  const serviceId32 = idToBytes32(opts.serviceId);

  let serviceMetadata = opts.serviceMetadata;
  let protoCid: string | undefined;
  if (opts.protoArchive) {
    protoCid = await ipfs.add(opts.protoArchive, "proto.tar.gz");
    serviceMetadata = { ...serviceMetadata, service_api_source: `ipfs://${protoCid}`, model_ipfs_hash: protoCid };
  }
  const orgMetadataCid = await ipfs.add(
    encoder.encode(JSON.stringify(opts.orgMetadata, null, 2)),
    "organization_metadata.json",
  );
  const serviceMetadataCid = await ipfs.add(
    encoder.encode(JSON.stringify(serviceMetadata, null, 2)),
    "service_metadata.json",
  );

  const registry = { address: deployment.registry, abi: registryAbi };
  const org = await readOrganization(deployment, opts.orgId);
  const orgUri = metadataUriBytes(`ipfs://${orgMetadataCid}`);
  await sendContractTx(
    deployment,
    ownerKey,
    org.found
      ? { ...registry, functionName: "changeOrganizationMetadataURI", args: [orgId32, orgUri] }
      : { ...registry, functionName: "createOrganization", args: [orgId32, orgUri, []] },
  );

  const service = await readServiceRegistration(deployment, opts.orgId, opts.serviceId);
  const serviceUri = metadataUriBytes(`ipfs://${serviceMetadataCid}`);
  await sendContractTx(deployment, ownerKey, {
    ...registry,
    functionName: service.found ? "updateServiceRegistration" : "createServiceRegistration",
    args: [orgId32, serviceId32, serviceUri],
  });

  return protoCid === undefined
    ? { orgMetadataCid, serviceMetadataCid }
    : { orgMetadataCid, serviceMetadataCid, protoCid };
}

export interface OrganizationRecord {
  found: boolean;
  id: Hex;
  /** Raw on-chain bytes, NUL padding included; `metadataUriText` gives the URI. */
  metadataUri: Hex;
  owner: Address;
  members: readonly Address[];
  serviceIds: readonly Hex[];
}

/** `getOrganizationById` decoded (protocol/metadata.md#registry). */
export async function readOrganization(deployment: Deployment, orgId: string): Promise<OrganizationRecord> {
  // Typed by the packaged ABI's output tuple; the JSON ABI is not literal-typed.
  const [found, id, metadataUri, owner, members, serviceIds] = (await deployment.publicClient.readContract({
    address: deployment.registry,
    abi: registryAbi,
    functionName: "getOrganizationById",
    args: [idToBytes32(orgId)],
  })) as readonly [boolean, Hex, Hex, Address, readonly Address[], readonly Hex[]];
  return { found, id, metadataUri, owner, members, serviceIds };
}

export interface ServiceRegistrationRecord {
  found: boolean;
  id: Hex;
  metadataUri: Hex;
}

/** `getServiceRegistrationById` decoded (protocol/metadata.md#registry). */
export async function readServiceRegistration(
  deployment: Deployment,
  orgId: string,
  serviceId: string,
): Promise<ServiceRegistrationRecord> {
  // Typed by the packaged ABI's output tuple; the JSON ABI is not literal-typed.
  const [found, id, metadataUri] = (await deployment.publicClient.readContract({
    address: deployment.registry,
    abi: registryAbi,
    functionName: "getServiceRegistrationById",
    args: [idToBytes32(orgId), idToBytes32(serviceId)],
  })) as readonly [boolean, Hex, Hex];
  return { found, id, metadataUri };
}
