/**
 * Changing a world's published metadata the way a provider does with snet-cli (new documents on IPFS,
 * then the Registry entries updated, which emits OrganizationModified and ServiceMetadataModified), for
 * suites that follow a running daemon through a metadata change.
 *
 * @example
 * await republish(world, { price: 150n });                       // a price change
 * await republish(world, { editService: (doc) => ({ ...doc, groups: [] }) }); // a broken document
 */
import type { Address } from "viem";
import { PROVIDER, registryAbi, sendContractTx } from "./contracts.ts";
import {
  buildOrgMetadata,
  buildServiceMetadata,
  idToBytes32,
  metadataUriBytes,
  publishService,
} from "./registry-publish.ts";
import { GROUP_NAME, ORG_ID, SERVICE_ID, type World } from "./world.ts";

export interface RepublishOptions {
  price?: bigint;
  paymentAddress?: Address;
  expirationThreshold?: bigint;
  freeCallSignerAddress?: Address;
  freeCalls?: number;
  /** Last word on the service document (to publish a broken one). */
  editService?: (doc: Record<string, unknown>) => Record<string, unknown>;
}

/** The world's two documents with `o` applied. */
export function worldDocuments(world: World, o: RepublishOptions = {}) {
  const orgMetadata = buildOrgMetadata({
    orgId: ORG_ID,
    groupName: GROUP_NAME,
    groupIdBase64: world.group.base64,
    paymentAddress: o.paymentAddress ?? PROVIDER.address,
    expirationThreshold: o.expirationThreshold ?? world.expirationThreshold,
  });
  const service = buildServiceMetadata({
    mpeAddress: world.deployment.mpe,
    groupName: GROUP_NAME,
    groupIdBase64: world.group.base64,
    priceInCogs: o.price ?? world.price,
    ...(o.freeCallSignerAddress ? { freeCallSignerAddress: o.freeCallSignerAddress } : {}),
    ...(o.freeCalls !== undefined ? { freeCalls: o.freeCalls } : {}),
  });
  return { orgMetadata, serviceMetadata: o.editService ? o.editService(service) : service };
}

/** Publishes new documents for the world's organization and service. */
export async function republish(world: World, o: RepublishOptions = {}) {
  const docs = worldDocuments(world, o);
  return publishService({
    deployment: world.deployment,
    ipfs: world.ipfs,
    orgId: ORG_ID,
    serviceId: SERVICE_ID,
    ...docs,
  });
}

/** Points the service's Registry entry at `uri` as it is (e.g. a CID whose content was tampered with). */
export async function registerServiceUri(world: World, uri: string): Promise<void> {
  await sendContractTx(world.deployment, PROVIDER.privateKey, {
    address: world.deployment.registry,
    abi: registryAbi,
    functionName: "updateServiceRegistration",
    args: [idToBytes32(ORG_ID), idToBytes32(SERVICE_ID), metadataUriBytes(uri)],
  });
}
