/**
 * Registry reads (protocol/metadata.md#registry): organization and service ids as bytes32,
 * on-chain metadata URIs, and the two lookups the daemon needs at start.
 */
import registryAbiJson from "singularitynet-platform-contracts/abi/Registry.json" with { type: "json" };
import {
  type Abi,
  type Address,
  BaseError,
  bytesToHex,
  ContractFunctionZeroDataError,
  type Hex,
  hexToBytes,
  type PublicClient,
} from "viem";
import { MetadataError } from "../core/errors.ts";

/** The ABI shipped by the contracts package (the source of truth for selectors and tuple order). */
export const registryAbi = registryAbiJson as Abi;

/** Published Registry per chain id (networks/Registry.json); other chains need registry_address_key. */
const KNOWN_REGISTRIES: ReadonlyMap<bigint, Address> = new Map([
  [1n, "0x247DEbEBB766E4fA99667265A158060018D5f4F8"],
  [11155111n, "0x4DCc70c6FCE4064803f0ae0cE48497B3f7182e5D"],
]);

export function knownRegistry(chainId: number | bigint): Address | undefined {
  return KNOWN_REGISTRIES.get(BigInt(chainId));
}

/** What the reads need from a viem client; a PublicClient fits. */
export type RegistryClient = Pick<PublicClient, "readContract">;

const utf8 = new TextEncoder();

/**
 * UTF-8 right-padded with NULs to 32 bytes. The reference silently truncates longer ids and so reads
 * another organization; here they are refused. `what` names the config key in messages.
 *
 * @example idToBytes32("snet-test-org") // "0x736e65742d746573742d6f7267000000…"
 */
export function idToBytes32(text: string, what = "id"): Hex {
  const bytes = utf8.encode(text);
  if (bytes.length === 0) throw new MetadataError("bad-id", `${what} is empty, expected 1 to 32 bytes of UTF-8`);
  if (bytes.length > 32) {
    throw new MetadataError(
      "bad-id",
      `${what} "${text}" is ${bytes.length} bytes in UTF-8, the Registry stores at most 32`,
    );
  }
  const out = new Uint8Array(32);
  out.set(bytes);
  return bytesToHex(out);
}

export const orgIdToBytes32 = (text: string): Hex => idToBytes32(text, "organization id");
export const serviceIdToBytes32 = (text: string): Hex => idToBytes32(text, "service id");

const toBytes = (value: Hex | Uint8Array) => (typeof value === "string" ? hexToBytes(value) : value);

function withoutTrailingNuls(bytes: Uint8Array): Uint8Array {
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0) end--;
  return bytes.subarray(0, end);
}

/** bytes32 id → text: trailing NULs stripped. */
export function bytes32ToText(value: Hex | Uint8Array): string {
  return new TextDecoder("utf-8", { fatal: true }).decode(withoutTrailingNuls(toBytes(value)));
}

/**
 * On-chain `bytes` metadata URI → text. snet-cli pads it with NULs to a multiple of 32 bytes
 * (protocol/metadata.md#metadata-uri); the scheme itself is checked by parseContentUri when fetching.
 */
export function decodeMetadataUri(value: Hex | Uint8Array): string {
  const bytes = withoutTrailingNuls(toBytes(value));
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new MetadataError("bad-uri", `metadata URI bytes ${bytesToHex(bytes)} are not UTF-8 text`);
  }
}

/** RPC URLs may carry API keys; viem's short message does not include the URL. */
const rpcText = (err: unknown) =>
  (err instanceof BaseError ? err.shortMessage : (err as Error).message).replace(/\.$/, "");

async function read(
  client: RegistryClient,
  registry: Address,
  functionName: "getOrganizationById" | "getServiceRegistrationById",
  args: Hex[],
  subject: string,
): Promise<readonly unknown[]> {
  let result: unknown;
  try {
    result = await client.readContract({ address: registry, abi: registryAbi, functionName, args });
  } catch (err) {
    if (err instanceof BaseError && err.walk((e) => e instanceof ContractFunctionZeroDataError)) {
      throw new MetadataError(
        "no-registry",
        `there is no Registry contract at ${registry} on this chain (reading ${subject}); check registry_address_key`,
        { cause: err },
      );
    }
    throw new MetadataError(
      "unreachable",
      `could not read ${subject} from the Registry at ${registry}: ${rpcText(err)}; ` +
        "check ethereum_json_rpc_http_endpoint and registry_address_key",
      { cause: err },
    );
  }
  if (!Array.isArray(result) || typeof result[0] !== "boolean") {
    throw new MetadataError(
      "unreachable",
      `the Registry at ${registry} answered ${functionName} with an unexpected shape`,
    );
  }
  return result;
}

/** `getOrganizationById(orgId)` → the org metadata URI; unknown org → MetadataError "not-found". */
export async function readOrganizationUri(client: RegistryClient, registry: Address, orgId: string): Promise<string> {
  const subject = `organization "${orgId}"`;
  const [found, , uri] = await read(client, registry, "getOrganizationById", [orgIdToBytes32(orgId)], subject);
  if (found !== true) {
    throw new MetadataError(
      "not-found",
      `${subject} is not registered in the Registry at ${registry}; check organization_id and registry_address_key`,
    );
  }
  return nonEmptyUri(uri, subject, registry);
}

/** `getServiceRegistrationById(orgId, serviceId)` → the service metadata URI. */
export async function readServiceUri(
  client: RegistryClient,
  registry: Address,
  orgId: string,
  serviceId: string,
): Promise<string> {
  const subject = `service "${serviceId}" of organization "${orgId}"`;
  const args = [orgIdToBytes32(orgId), serviceIdToBytes32(serviceId)];
  const [found, , uri] = await read(client, registry, "getServiceRegistrationById", args, subject);
  if (found !== true) {
    throw new MetadataError(
      "not-found",
      `${subject} is not registered in the Registry at ${registry}; check organization_id, service_id and registry_address_key`,
    );
  }
  return nonEmptyUri(uri, subject, registry);
}

function nonEmptyUri(uri: unknown, subject: string, registry: Address): string {
  const text = typeof uri === "string" && uri.startsWith("0x") ? decodeMetadataUri(uri as Hex) : "";
  if (text === "")
    throw new MetadataError("not-found", `${subject} has no metadata URI in the Registry at ${registry}`);
  return text;
}
