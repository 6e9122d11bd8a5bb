/**
 * The Registry event watch (src/chain/registry-events.ts) against the real Registry on anvil, published
 * the way snet-cli does: our organization's and service's modifications are reported, other services'
 * and other organizations' are not, each event once despite the overlapping re-scans, and an event in a
 * block that a reorg replaced (anvil's snapshot and revert) is reported again from the new block.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type RegistryWatch, watchRegistryEvents } from "../../src/chain/registry-events.ts";
import { type Anvil, rpc, startAnvil } from "../kit/anvil.ts";
import { type Deployment, deployContracts, PROVIDER } from "../kit/contracts.ts";
import { type IpfsServer, startIpfsServer } from "../kit/ipfs-server.ts";
import { buildOrgMetadata, buildServiceMetadata, publishService, randomGroupId } from "../kit/registry-publish.ts";
import { until } from "../kit/wait.ts";

const ORG = "events-org";
const group = randomGroupId();
let anvil: Anvil;
let deployment: Deployment;
let ipfs: IpfsServer;
let watch: RegistryWatch;
const seen: string[] = [];

async function publish(orgId: string, serviceId: string, price: bigint) {
  await publishService({
    deployment,
    ipfs,
    orgId,
    serviceId,
    orgMetadata: buildOrgMetadata({
      orgId,
      groupName: "g",
      groupIdBase64: group.base64,
      paymentAddress: PROVIDER.address,
      expirationThreshold: 100n,
    }),
    serviceMetadata: buildServiceMetadata({
      mpeAddress: deployment.mpe,
      groupName: "g",
      groupIdBase64: group.base64,
      priceInCogs: price,
    }),
  });
}

beforeAll(async () => {
  anvil = await startAnvil();
  deployment = await deployContracts(anvil.rpcUrl);
  ipfs = await startIpfsServer();
  // Created before the watch: creations are not modifications, and the first poll starts a few blocks back.
  await publish(ORG, "ours", 1n);
  await publish(ORG, "theirs", 1n);
  await publish("other-org", "ours", 1n);
  watch = watchRegistryEvents({
    client: deployment.publicClient,
    registry: deployment.registry,
    orgId: ORG,
    serviceId: "ours",
    intervalMs: 100,
    overlapBlocks: 4,
    onEvent: (what) => seen.push(what),
  });
  await watch.pollNow();
}, 120_000);

afterAll(async () => {
  watch?.stop();
  await ipfs?.stop();
  await anvil?.stop();
});

describe("Registry events of our organization and service", () => {
  test("a republish reports OrganizationModified and ServiceMetadataModified once each", async () => {
    seen.length = 0;
    await publish(ORG, "ours", 2n);
    await until(() => seen.length >= 2, "both events");
    // Several more polls, each re-scanning the last blocks: nothing is reported twice.
    for (let i = 0; i < 5; i++) await watch.pollNow();
    expect(seen.map((s) => s.split(" ")[0]).sort()).toEqual(["OrganizationModified", "ServiceMetadataModified"]);
  });

  test("another service of the organization, and another organization, are not ours", async () => {
    seen.length = 0;
    await publish("other-org", "ours", 3n);
    await publish(ORG, "theirs", 3n);
    for (let i = 0; i < 3; i++) await watch.pollNow();
    // Republishing "theirs" also rewrites the organization's URI: that one is ours.
    expect(seen.map((s) => s.split(" ")[0])).toEqual(["OrganizationModified"]);
  });

  test("an event whose block a reorg replaced is reported again from the new block", async () => {
    seen.length = 0;
    const snapshot = await rpc<string>(anvil.rpcUrl, "evm_snapshot", []);
    await publish(ORG, "ours", 4n);
    await until(() => seen.length === 2, "the events before the reorg");
    const before = [...seen];
    await rpc(anvil.rpcUrl, "evm_revert", [snapshot]);
    await publish(ORG, "ours", 5n);
    await until(() => seen.length === 4, "the events after the reorg");
    // Same block numbers (the chain was cut back and grew again), other blocks.
    expect(seen.slice(2)).toEqual(before);
  });
});
