/**
 * Start-up metadata resolution (protocol/metadata.md#resolution): Registry → URI → verified content →
 * typed documents → the served group, with local files taking precedence over the chain copy
 * (protocol/metadata.md#local-files). Every failure names the org, service, group, URI or file involved
 * (protocol/reference-differences.md#d32).
 */
import { readdir } from "node:fs/promises";
import path from "node:path";
import type { Address } from "viem";
import { knownRegistry, type RegistryClient, readOrganizationUri, readServiceUri } from "../chain/registry.ts";
import { MetadataError } from "../core/errors.ts";
import { extractProtos } from "./archive.ts";
import { fetchVerified } from "./ipfs.ts";
import {
  type DaemonGroup,
  type OrgMetadata,
  parseOrgMetadata,
  parseServiceMetadata,
  type ServiceMetadata,
  selectGroup,
} from "./model.ts";

/** Documents are a few KiB; this only stops a hostile or wrong CID from filling memory. */
export const MAX_DOCUMENT_BYTES = 4 * 1024 * 1024;
/** Compressed proto archive (extraction has its own caps). */
export const MAX_ARCHIVE_FETCH_BYTES = 16 * 1024 * 1024;

export interface LoadMetadataConfig {
  organization_id: string;
  service_id: string;
  daemon_group_name: string;
  /** registry_address_key; defaults to the published Registry of the client's chain. */
  registry_address?: string;
  ipfs_endpoint: string;
  ipfs_timeout_s: number;
  lighthouse_endpoint: string;
  organization_metadata_file?: string;
  service_metadata_file?: string;
  service_proto_dir?: string;
  /**
   * Load the proto files too (http upstream, dynamic pricing, training); plain gRPC never needs them. A
   * function decides from the service metadata (its service_type). "optional": load them if possible
   * (Connect JSON calls), a failure is `protosProblem` rather than an error.
   */
  needProtos?: ProtoNeed | ((service: ServiceMetadata) => ProtoNeed);
}

export type ProtoNeed = boolean | "optional";

export interface LoadMetadataDeps {
  /** Needed unless both documents come from files. */
  publicClient?: RegistryClient & { getChainId(): Promise<number> };
  readFile: (file: string) => Promise<Uint8Array | string>;
  /** Relative paths of every file below `dir`; defaults to node:fs. */
  listDir?: (dir: string) => Promise<string[]>;
  fetch?: typeof fetch;
  log?: (message: string) => void;
}

export interface LoadedMetadata {
  group: DaemonGroup;
  org: OrgMetadata;
  service: ServiceMetadata;
  protos?: Record<string, string>;
  /** Why optional proto files could not be loaded. */
  protosProblem?: string;
  /** "files" when both documents came from local files. */
  source: "registry" | "files";
}

/**
 * Loads both documents, selects `daemon_group_name`, and (with `needProtos`) the proto files.
 *
 * @example
 * const { group } = await loadMetadata({ publicClient, readFile: (f) => Bun.file(f).bytes() }, {
 *   organization_id: "snet-test-org", service_id: "example-service", daemon_group_name: "default_group",
 *   ipfs_endpoint: "http://127.0.0.1:5001", ipfs_timeout_s: 30, lighthouse_endpoint: "https://gateway.lighthouse.storage/ipfs/",
 * });
 */
export async function loadMetadata(deps: LoadMetadataDeps, cfg: LoadMetadataConfig): Promise<LoadedMetadata> {
  const fetchOpts = (maxBytes: number) => ({
    ipfsEndpoint: cfg.ipfs_endpoint,
    lighthouseEndpoint: cfg.lighthouse_endpoint,
    timeoutMs: cfg.ipfs_timeout_s * 1000,
    maxBytes,
    ...(deps.fetch && { fetch: deps.fetch }),
  });
  let registry: Address | undefined;
  const chain = async () => {
    if (!deps.publicClient) {
      throw new MetadataError(
        "no-registry",
        `metadata of organization "${cfg.organization_id}" must come from the Registry but no blockchain client is configured; ` +
          "configure the chain or set organization_metadata_file and service_metadata_file",
      );
    }
    registry ??= await registryAddress(deps.publicClient, cfg.registry_address);
    return { client: deps.publicClient, registry };
  };
  const fromUri = (uri: string, doc: string) => inContext(doc, () => fetchVerified(uri, fetchOpts(MAX_DOCUMENT_BYTES)));

  let org: OrgMetadata;
  const orgDoc = `organization metadata of "${cfg.organization_id}"`;
  if (cfg.organization_metadata_file) {
    deps.log?.(`using ${orgDoc} from file "${cfg.organization_metadata_file}", not the Registry copy`);
    const file = cfg.organization_metadata_file;
    org = parseOrgMetadata(await readLocal(deps, file, orgDoc), `${orgDoc} from file "${file}"`);
  } else {
    const { client, registry: at } = await chain();
    const uri = await readOrganizationUri(client, at, cfg.organization_id);
    org = parseOrgMetadata(await fromUri(uri, orgDoc), `${orgDoc} from "${uri}"`);
  }

  let service: ServiceMetadata;
  const serviceDoc = `service metadata of "${cfg.organization_id}"/"${cfg.service_id}"`;
  if (cfg.service_metadata_file) {
    deps.log?.(`using ${serviceDoc} from file "${cfg.service_metadata_file}", not the Registry copy`);
    const file = cfg.service_metadata_file;
    service = parseServiceMetadata(await readLocal(deps, file, serviceDoc), `${serviceDoc} from file "${file}"`);
  } else {
    const { client, registry: at } = await chain();
    const uri = await readServiceUri(client, at, cfg.organization_id, cfg.service_id);
    service = parseServiceMetadata(await fromUri(uri, serviceDoc), `${serviceDoc} from "${uri}"`);
  }

  const group = selectGroup(org, service, cfg.daemon_group_name, {
    orgId: cfg.organization_id,
    serviceId: cfg.service_id,
  });
  const source = cfg.organization_metadata_file && cfg.service_metadata_file ? "files" : "registry";
  const want = typeof cfg.needProtos === "function" ? cfg.needProtos(service) : cfg.needProtos;
  if (!want) return { group, org, service, source };
  try {
    const protos = await loadProtos(deps, cfg, group, serviceDoc, fetchOpts(MAX_ARCHIVE_FETCH_BYTES));
    return { group, org, service, protos, source };
  } catch (err) {
    // Wanted but not required (Connect JSON calls): the daemon starts without them and says why.
    if (want === "optional" && err instanceof MetadataError)
      return { group, org, service, source, protosProblem: err.message };
    throw err;
  }
}

/** The proto files: `service_proto_dir`, else the verified archive of the group's `service_api_source`. */
async function loadProtos(
  deps: LoadMetadataDeps,
  cfg: LoadMetadataConfig,
  group: DaemonGroup,
  serviceDoc: string,
  fetchOpts: Parameters<typeof fetchVerified>[1],
): Promise<Record<string, string>> {
  let protos: Record<string, string>;
  if (cfg.service_proto_dir) {
    deps.log?.(`using proto files from directory "${cfg.service_proto_dir}", not the service_api_source copy`);
    protos = await readProtoDir(deps, cfg.service_proto_dir);
  } else {
    if (!group.apiSource) {
      throw new MetadataError(
        "not-found",
        `${serviceDoc} has neither service_api_source nor model_ipfs_hash, so its proto files cannot be loaded; set service_proto_dir`,
      );
    }
    const archiveDoc = `proto archive "${group.apiSource}" of ${serviceDoc}`;
    const archiveUri = group.apiSource;
    protos = await inContext(archiveDoc, async () => extractProtos(await fetchVerified(archiveUri, fetchOpts)));
  }
  if (Object.keys(protos).length === 0) {
    throw new MetadataError("bad-archive", `no .proto file found for ${serviceDoc}`);
  }
  return protos;
}

/** Prefixes which document failed to a MetadataError raised while loading it. */
async function inContext<T>(doc: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof MetadataError) throw new MetadataError(err.reason, `${doc}: ${err.message}`, { cause: err });
    throw err;
  }
}

/** The Registry to read: `registry_address_key`, else the published one of the chain. */
export async function registryAddress(
  client: { getChainId(): Promise<number> },
  configured?: string,
): Promise<Address> {
  if (configured) {
    if (!/^0x[0-9a-fA-F]{40}$/.test(configured)) {
      throw new MetadataError(
        "no-registry",
        `registry_address_key "${configured}" is not a 0x-prefixed 20-byte hex address`,
      );
    }
    return configured as Address;
  }
  const chainId = await client.getChainId();
  const known = knownRegistry(chainId);
  if (!known) {
    throw new MetadataError(
      "no-registry",
      `no Registry is published for chain id ${chainId}; set registry_address_key to the Registry address`,
    );
  }
  return known;
}

async function readLocal(deps: LoadMetadataDeps, file: string, doc: string): Promise<Uint8Array | string> {
  try {
    return await deps.readFile(file);
  } catch (err) {
    throw new MetadataError("not-found", `cannot read ${doc} from file "${file}": ${(err as Error).message}`, {
      cause: err,
    });
  }
}

async function readProtoDir(deps: LoadMetadataDeps, dir: string): Promise<Record<string, string>> {
  const listDir = deps.listDir ?? ((d: string) => readdir(d, { recursive: true }));
  let names: string[];
  try {
    names = await listDir(dir);
  } catch (err) {
    throw new MetadataError("not-found", `cannot list service_proto_dir "${dir}": ${(err as Error).message}`, {
      cause: err,
    });
  }
  const protos: Record<string, string> = {};
  for (const name of names.filter((n) => n.endsWith(".proto")).sort()) {
    const file = path.join(dir, name);
    const content = await readLocal(deps, file, `proto file "${name}"`);
    protos[name.split(path.sep).join("/")] = typeof content === "string" ? content : new TextDecoder().decode(content);
  }
  return protos;
}
