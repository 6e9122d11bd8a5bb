// Registry id and URI encodings against the vectors, and reads from the packaged Registry on anvil.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createPublicClient, http } from "viem";
import {
  bytes32ToText,
  decodeMetadataUri,
  idToBytes32,
  knownRegistry,
  orgIdToBytes32,
  readOrganizationUri,
  readServiceUri,
  serviceIdToBytes32,
} from "../../src/chain/registry.ts";
import { MetadataError } from "../../src/core/errors.ts";
import { parseContentUri } from "../../src/metadata/ipfs.ts";
import { freePort } from "../kit/ports.ts";
import vectors from "../vectors/signatures.json" with { type: "json" };
import { type RegistryChain, snetCliUriBytes, startRegistryChain } from "./anvil-registry.ts";

async function messageOf(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (err) {
    return err instanceof MetadataError ? `${err.reason}: ${err.message}` : `not a MetadataError: ${String(err)}`;
  }
  return "no error";
}

describe("encodings", () => {
  for (const v of vectors.encodings.bytes32_ids) {
    test(`bytes32 id ${JSON.stringify(v.text)}`, () => {
      expect(orgIdToBytes32(v.text)).toBe(v.bytes32 as `0x${string}`);
      expect(serviceIdToBytes32(v.text)).toBe(v.bytes32 as `0x${string}`);
      expect(bytes32ToText(v.bytes32 as `0x${string}`)).toBe(v.text);
    });
  }

  test("ids over 32 bytes (counted in UTF-8) and empty ids are refused", async () => {
    expect(await messageOf(() => orgIdToBytes32("x".repeat(33)))).toBe(
      `bad-id: organization id "${"x".repeat(33)}" is 33 bytes in UTF-8, the Registry stores at most 32`,
    );
    // 16 two-byte characters fit exactly; one more does not.
    expect(idToBytes32("é".repeat(16))).toHaveLength(66);
    expect(await messageOf(() => serviceIdToBytes32("é".repeat(17)))).toStartWith("bad-id: service id");
    expect(await messageOf(() => orgIdToBytes32(""))).toStartWith("bad-id: organization id is empty");
  });

  for (const v of vectors.encodings.metadata_uri) {
    test(`on-chain metadata URI ${v.uri.slice(0, 12)}…`, () => {
      expect(decodeMetadataUri(v.onchain_bytes_hex as `0x${string}`)).toBe(v.uri);
      expect(snetCliUriBytes(v.uri)).toBe(v.onchain_bytes_hex as `0x${string}`);
      expect(parseContentUri(decodeMetadataUri(v.onchain_bytes_hex as `0x${string}`)).cid).toBe(
        v.uri.split("://")[1] as string,
      );
    });
  }

  test("known registries", () => {
    expect(knownRegistry(1)).toBe("0x247DEbEBB766E4fA99667265A158060018D5f4F8");
    expect(knownRegistry(11155111n)).toBe("0x4DCc70c6FCE4064803f0ae0cE48497B3f7182e5D");
    expect(knownRegistry(31337)).toBeUndefined();
  });
});

describe("Registry on anvil", () => {
  let chain: RegistryChain;
  const orgUri = "ipfs://QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o";
  const serviceUri = "filecoin://bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4";
  const org32 = "org-id-that-is-exactly-32-bytes!";
  const svc32 = "service-id-exactly-32-bytes-long";

  beforeAll(async () => {
    chain = await startRegistryChain();
    await chain.createOrganization("snet-test-org", orgUri);
    await chain.createService("snet-test-org", "example-service", serviceUri);
    await chain.createOrganization(org32, orgUri);
    await chain.createService(org32, svc32, orgUri);
  });
  afterAll(() => chain?.stop());

  test("reads the organization and service URIs snet-cli would publish", async () => {
    expect(await readOrganizationUri(chain.publicClient, chain.registry, "snet-test-org")).toBe(orgUri);
    expect(await readServiceUri(chain.publicClient, chain.registry, "snet-test-org", "example-service")).toBe(
      serviceUri,
    );
  });

  test("32-byte ids round-trip", async () => {
    expect(await readOrganizationUri(chain.publicClient, chain.registry, org32)).toBe(orgUri);
    expect(await readServiceUri(chain.publicClient, chain.registry, org32, svc32)).toBe(orgUri);
  });

  test("unknown organization and service: not-found naming the id and the Registry", async () => {
    const org = await messageOf(readOrganizationUri(chain.publicClient, chain.registry, "no-such-org"));
    expect(org).toBe(
      `not-found: organization "no-such-org" is not registered in the Registry at ${chain.registry}; check organization_id and registry_address_key`,
    );
    const svc = await messageOf(readServiceUri(chain.publicClient, chain.registry, "snet-test-org", "no-such-service"));
    expect(svc).toStartWith('not-found: service "no-such-service" of organization "snet-test-org" is not registered');
    expect(svc).toContain(chain.registry);
  });

  test("an address without the Registry: a clear error, not a crash", async () => {
    const empty = "0x000000000000000000000000000000000000dEaD";
    const msg = await messageOf(readOrganizationUri(chain.publicClient, empty, "snet-test-org"));
    expect(msg).toBe(
      `no-registry: there is no Registry contract at ${empty} on this chain (reading organization "snet-test-org"); check registry_address_key`,
    );
  });

  test("an unreachable node: the error names the Registry but not the RPC URL (it may carry an API key)", async () => {
    const dead = `http://127.0.0.1:${await freePort()}/v3/secret-api-key`;
    const client = createPublicClient({ transport: http(dead, { retryCount: 0 }) });
    const msg = await messageOf(readOrganizationUri(client, chain.registry, "snet-test-org"));
    expect(msg).toStartWith(
      `unreachable: could not read organization "snet-test-org" from the Registry at ${chain.registry}: `,
    );
    expect(msg).not.toContain("secret-api-key");
  });
});
