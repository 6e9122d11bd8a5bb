// The chain side of the test kit against a real anvil with the packaged contract bytecode.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sha256 } from "@noble/hashes/sha2.js";
import { base58btc } from "multiformats/bases/base58";
import { parseTarGzip } from "nanotar";
import { privateKeyToAccount } from "viem/accounts";
import { nobleRecovery } from "../../src/core/noble-recovery.ts";
import { bytesToHex, concatBytes, hexToBytes } from "../../src/core/numbers.ts";
import { channelStateMessage, claimMessage, recoverSigner } from "../../src/core/signatures.ts";
import vectors from "../vectors/signatures.json" with { type: "json" };
import { type Anvil, blockNumber, mine, rpc, startAnvil } from "./anvil.ts";
import {
  addFunds,
  channelOnChain,
  claimOnChain,
  extendChannel,
  fundClient,
  mpeBalance,
  openChannel,
  paymentMetadata,
  signChannelStateRequest,
  signPayment,
} from "./client.ts";
import {
  ACCOUNTS,
  CLIENTS,
  type Deployment,
  deployContracts,
  FRESH_CHAIN_ADDRESSES,
  mpeAbi,
  PROVIDER,
  tokenAbi,
} from "./contracts.ts";
import {
  buildOrgMetadata,
  buildProtoArchive,
  buildServiceMetadata,
  type IpfsLike,
  idToBytes32,
  metadataUriBytes,
  metadataUriText,
  publishService,
  randomGroupId,
  readOrganization,
  readServiceRegistration,
} from "./registry-publish.ts";

/**
 * Stand-in for tests/kit/ipfs-server.ts: keeps content in memory
 * under the raw-sha256 CIDv0 (protocol/metadata.md#test-ipfs).
 */
function fakeIpfsForTest(): IpfsLike & { get(cid: string): Uint8Array | undefined } {
  const store = new Map<string, Uint8Array>();
  return {
    async add(content: Uint8Array): Promise<string> {
      const cid = base58btc.baseEncode(concatBytes(Uint8Array.of(0x12, 0x20), sha256(content)));
      store.set(cid, Uint8Array.from(content));
      return cid;
    },
    get: (cid) => store.get(cid),
  };
}

const client = CLIENTS[0]!;
const decoder = new TextDecoder();

describe("encodings", () => {
  test("the fake IPFS gives the raw-sha256 CIDs of the vectors", async () => {
    const ipfs = fakeIpfsForTest();
    for (const v of vectors.encodings.cidv0) {
      expect(await ipfs.add(new TextEncoder().encode(v.content_text))).toBe(v.cidv0_raw_sha256_mock);
    }
  });

  test("metadata URIs are NUL-padded like snet-cli and decode back", () => {
    for (const v of vectors.encodings.metadata_uri) {
      expect(metadataUriBytes(v.uri)).toBe(v.onchain_bytes_hex as `0x${string}`);
      expect(metadataUriText(v.onchain_bytes_hex as `0x${string}`)).toBe(v.uri);
    }
    // A URI of exactly 32 bytes still gets a NUL (a whole padding word).
    expect(hexToBytes(metadataUriBytes("x".repeat(32))).length).toBe(64);
  });

  test("ids are right-padded bytes32 and longer ones are refused", () => {
    for (const v of vectors.encodings.bytes32_ids) expect(idToBytes32(v.text)).toBe(v.bytes32 as `0x${string}`);
    expect(() => idToBytes32("x".repeat(33))).toThrow(/33 bytes in UTF-8, expected at most 32/);
    expect(() => idToBytes32("é".repeat(17))).toThrow(/34 bytes/);
  });

  test("the standard accounts match their keys", () => {
    for (const account of ACCOUNTS) expect(privateKeyToAccount(account.privateKey).address).toBe(account.address);
  });

  test("signatures recover to the client and carry the escrow header names", () => {
    const mpe = FRESH_CHAIN_ADDRESSES.mpe;
    const signature = signPayment(client.privateKey, mpe, 7n, 2n, 300n);
    expect(signature.length).toBe(65);
    expect([27, 28]).toContain(signature[64]!);
    expect(recoverSigner(nobleRecovery, claimMessage(mpe, 7n, 2n, 300n), signature)).toBe(
      client.address.toLowerCase() as `0x${string}`,
    );
    const stateSignature = signChannelStateRequest(client.privateKey, mpe, 7n, 42n);
    expect(recoverSigner(nobleRecovery, channelStateMessage(mpe, 7n, 42n), stateSignature)).toBe(
      client.address.toLowerCase() as `0x${string}`,
    );

    const md = paymentMetadata({ channelId: 7n, nonce: 2n, amount: 300n, signature });
    expect(md["snet-payment-type"]).toBe("escrow");
    expect(md["snet-payment-channel-id"]).toBe("7");
    expect(md["snet-payment-channel-nonce"]).toBe("2");
    expect(md["snet-payment-channel-amount"]).toBe("300");
    expect(Buffer.isBuffer(md["snet-payment-channel-signature-bin"])).toBe(true);
    expect(bytesToHex(md["snet-payment-channel-signature-bin"] as Buffer)).toBe(bytesToHex(signature));
  });

  test("service metadata puts a default fixed price first; method pricing takes the default", () => {
    const base = {
      mpeAddress: FRESH_CHAIN_ADDRESSES.mpe,
      groupName: "default_group",
      groupIdBase64: randomGroupId().base64,
      priceInCogs: 100n,
    } as const;
    const plain = buildServiceMetadata(base) as { groups: { pricing: Record<string, unknown>[] }[] };
    expect(plain.groups[0]!.pricing).toEqual([{ price_model: "fixed_price", price_in_cogs: 100, default: true }]);
    const perMethod = buildServiceMetadata({
      ...base,
      methodPricing: { package: "example", service: "Echo", methods: { Say: 3n } },
    }) as typeof plain;
    expect(perMethod.groups[0]!.pricing[0]).toEqual({ price_model: "fixed_price", price_in_cogs: 100, default: false });
    expect(perMethod.groups[0]!.pricing[1]).toMatchObject({
      price_model: "fixed_price_per_method",
      default: true,
      package_name: "example",
    });
    expect(() => buildServiceMetadata({ ...base, priceInCogs: 2n ** 60n })).toThrow(/does not fit a JSON number/);
  });
});

describe("on anvil", () => {
  let anvil: Anvil | undefined;
  let deployment: Deployment;

  beforeAll(async () => {
    anvil = await startAnvil();
    deployment = await deployContracts(anvil.rpcUrl);
  });
  afterAll(async () => {
    await anvil?.stop();
  });

  test("the contracts land at the fixed addresses and the MPE uses the token", async () => {
    expect(deployment.chainId).toBe(31337);
    expect(deployment.token).toBe(FRESH_CHAIN_ADDRESSES.token);
    expect(deployment.mpe).toBe(FRESH_CHAIN_ADDRESSES.mpe);
    expect(deployment.registry).toBe(FRESH_CHAIN_ADDRESSES.registry);
    const read = (address: `0x${string}`, abi: typeof mpeAbi, functionName: string) =>
      deployment.publicClient.readContract({ address, abi, functionName, args: [] });
    expect(await read(deployment.mpe, mpeAbi, "token")).toBe(deployment.token);
    expect(await read(deployment.token, tokenAbi, "decimals")).toBe(8);
    expect(await read(deployment.token, tokenAbi, "symbol")).toBe("FET");
  });

  test("a funded client's channel is claimed by the provider for the signed amount", async () => {
    const group = randomGroupId();
    await fundClient(deployment, client.privateKey, 1000n);
    expect(await mpeBalance(deployment, client.address)).toBe(1000n);

    const expiration = (await blockNumber(deployment.rpcUrl)) + 1000n;
    const channelId = await openChannel(deployment, {
      clientKey: client.privateKey,
      recipient: PROVIDER.address,
      groupIdBytes: group.bytes,
      value: 600n,
      expiration,
    });
    expect(await mpeBalance(deployment, client.address)).toBe(400n);
    expect(await channelOnChain(deployment, channelId)).toEqual({
      nonce: 0n,
      sender: client.address,
      signer: client.address,
      recipient: PROVIDER.address,
      groupId: bytesToHex(group.bytes) as `0x${string}`,
      value: 600n,
      expiration,
    });

    const providerBefore = await mpeBalance(deployment, PROVIDER.address);
    const signature = signPayment(client.privateKey, deployment.mpe, channelId, 0n, 100n);
    const receipt = await claimOnChain(deployment, PROVIDER.privateKey, { channelId, amount: 100n, signature });
    expect(receipt.status).toBe("success");
    expect(await mpeBalance(deployment, PROVIDER.address)).toBe(providerBefore + 100n);
    const after = await channelOnChain(deployment, channelId);
    expect(after.nonce).toBe(1n);
    expect(after.value).toBe(500n);

    // The same signature is spent: the chain nonce moved on, so a resubmission reverts.
    await expect(claimOnChain(deployment, PROVIDER.privateKey, { channelId, amount: 100n, signature })).rejects.toThrow(
      /Invalid signature/,
    );

    await addFunds(deployment, client.privateKey, channelId, 50n);
    await extendChannel(deployment, client.privateKey, channelId, expiration + 10n);
    expect(await channelOnChain(deployment, channelId)).toMatchObject({ value: 550n, expiration: expiration + 10n });
  });

  test("parallel funding of several clients does not collide on the minter's nonce", async () => {
    const [a, b, c] = [CLIENTS[1]!, CLIENTS[2]!, CLIENTS[3]!];
    await Promise.all([a, b, c].map((x) => fundClient(deployment, x.privateKey, 77n)));
    for (const x of [a, b, c]) expect(await mpeBalance(deployment, x.address)).toBe(77n);
  });

  test("an unknown channel reads as sender 0x0", async () => {
    expect((await channelOnChain(deployment, 10_000n)).sender).toBe("0x0000000000000000000000000000000000000000");
  });

  test("mine moves the head by the requested number of blocks", async () => {
    const before = await blockNumber(deployment.rpcUrl);
    await mine(deployment.rpcUrl, 25n);
    expect(await blockNumber(deployment.rpcUrl)).toBe(before + 25n);
  });

  test("an org and a service published like snet-cli read back from the Registry", async () => {
    const ipfs = fakeIpfsForTest();
    const group = randomGroupId();
    const orgMetadata = buildOrgMetadata({
      orgId: "snet-test-org",
      groupName: "default_group",
      groupIdBase64: group.base64,
      paymentAddress: PROVIDER.address,
      expirationThreshold: 100n,
    });
    const serviceMetadata = buildServiceMetadata({
      mpeAddress: deployment.mpe,
      groupName: "default_group",
      groupIdBase64: group.base64,
      priceInCogs: 100n,
    });
    const protoArchive = await buildProtoArchive({ "example.proto": 'syntax = "proto3";\npackage example;\n' });
    const published = await publishService({
      deployment,
      ipfs,
      orgId: "snet-test-org",
      serviceId: "example-service",
      orgMetadata,
      serviceMetadata,
      protoArchive,
    });

    const org = await readOrganization(deployment, "snet-test-org");
    expect(org.found).toBe(true);
    expect(org.owner).toBe(PROVIDER.address);
    expect(org.id).toBe(idToBytes32("snet-test-org"));
    expect(org.serviceIds).toEqual([idToBytes32("example-service")]);
    expect(metadataUriText(org.metadataUri)).toBe(`ipfs://${published.orgMetadataCid}`);
    expect(org.metadataUri).toBe(metadataUriBytes(`ipfs://${published.orgMetadataCid}`));

    const service = await readServiceRegistration(deployment, "snet-test-org", "example-service");
    expect(service.found).toBe(true);
    expect(metadataUriText(service.metadataUri)).toBe(`ipfs://${published.serviceMetadataCid}`);

    const stored = JSON.parse(decoder.decode(ipfs.get(published.serviceMetadataCid)!)) as Record<string, unknown>;
    expect(stored.service_api_source).toBe(`ipfs://${published.protoCid}`);
    expect(stored.mpe_address).toBe(deployment.mpe);
    const files = await parseTarGzip(ipfs.get(published.protoCid!)!);
    expect(files.map((f) => [f.name, f.text])).toEqual([["example.proto", 'syntax = "proto3";\npackage example;\n']]);

    // Publishing again replaces the URIs instead of failing on the existing entries.
    const again = await publishService({
      deployment,
      ipfs,
      orgId: "snet-test-org",
      serviceId: "example-service",
      orgMetadata: { ...orgMetadata, org_name: "Renamed" },
      serviceMetadata,
    });
    expect(metadataUriText((await readOrganization(deployment, "snet-test-org")).metadataUri)).toBe(
      `ipfs://${again.orgMetadataCid}`,
    );
    expect(again.orgMetadataCid).not.toBe(published.orgMetadataCid);
    expect((await readOrganization(deployment, "unknown-org")).found).toBe(false);
  });

  test("stop ends the node", async () => {
    const extra = await startAnvil();
    await extra.stop();
    await expect(rpc(extra.rpcUrl, "eth_chainId", [])).rejects.toThrow();
    await extra.stop();
  });
});
