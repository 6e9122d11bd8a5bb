// Metadata documents: lossless integers, validation messages, group selection (protocol/metadata.md).
import { describe, expect, test } from "bun:test";
import { MetadataError } from "../../src/core/errors.ts";
import { bytesToHex } from "../../src/core/numbers.ts";
import { parseJsonLossless, parseOrgMetadata, parseServiceMetadata, selectGroup } from "../../src/metadata/model.ts";
import { priceOf } from "../../src/metadata/pricing.ts";
import vectors from "../vectors/signatures.json" with { type: "json" };
import {
  FREE_CALL_SIGNER,
  GROUP_ID_BASE64,
  MPE_ADDRESS,
  orgMetadata,
  PAYMENT_ADDRESS,
  serviceMetadata,
} from "./fixtures.ts";

const json = (v: unknown) => JSON.stringify(v);
const messageOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err instanceof MetadataError ? `${err.reason}: ${err.message}` : `not a MetadataError: ${String(err)}`;
  }
  return "no error";
};
const ids = { orgId: "snet-test-org", serviceId: "example-service" };

describe("parseJsonLossless", () => {
  test("integers become bigint without losing digits, 2^64+1 included", () => {
    const value = parseJsonLossless('{"a":18446744073709551617,"b":[0,-5,9007199254740993],"c":1.5,"d":1e3,"e":"7"}');
    expect(value).toEqual({ a: 18446744073709551617n, b: [0n, -5n, 9007199254740993n], c: 1.5, d: 1000, e: "7" });
  });

  test("invalid JSON still throws", () => {
    expect(() => parseJsonLossless("{")).toThrow();
  });
});

describe("parseOrgMetadata / parseServiceMetadata", () => {
  test("snet-cli documents parse; big integers stay exact", () => {
    const org = parseOrgMetadata(
      json(orgMetadata()).replace(
        '"payment_expiration_threshold":100',
        '"payment_expiration_threshold":18446744073709551617',
      ),
    );
    expect(org.groups[0]?.payment.payment_expiration_threshold).toBe(18446744073709551617n);
    const service = parseServiceMetadata(
      json(serviceMetadata()).replace('"price_in_cogs":100', '"price_in_cogs":340282366920938463463374607431768211457'),
    );
    expect(service.groups[0]?.pricing[0]?.price_in_cogs).toBe(340282366920938463463374607431768211457n);
  });

  test("bytes input (UTF-8) is accepted", () => {
    expect(parseOrgMetadata(new TextEncoder().encode(json(orgMetadata()))).org_id).toBe("snet-test-org");
  });

  test("errors name the document, its origin and the field path", () => {
    const org = orgMetadata();
    (org.groups[0] as { payment: { payment_address: string } }).payment.payment_address = "0x1234";
    const msg = messageOf(() =>
      parseOrgMetadata(json(org), 'organization metadata of "snet-test-org" from "ipfs://QmOrg"'),
    );
    expect(msg).toStartWith(
      'invalid-document: organization metadata of "snet-test-org" from "ipfs://QmOrg" is invalid: ',
    );
    expect(msg).toContain(
      'groups[0].payment.payment_address: expected a 0x-prefixed 20-byte hex address, got "0x1234"',
    );
  });

  test("non-integer and negative amounts are refused", () => {
    for (const bad of ["1.5", "-1", '"ten"']) {
      const text = json(serviceMetadata()).replace('"price_in_cogs":100', `"price_in_cogs":${bad}`);
      expect(messageOf(() => parseServiceMetadata(text))).toContain(
        "groups[0].pricing[0].price_in_cogs: expected a non-negative integer",
      );
    }
    // A decimal string is exact, so it is accepted.
    const text = json(serviceMetadata()).replace('"price_in_cogs":100', '"price_in_cogs":"100"');
    expect(parseServiceMetadata(text).groups[0]?.pricing[0]?.price_in_cogs).toBe(100n);
  });

  test("group_id must be base64 of 32 bytes", () => {
    const org = orgMetadata();
    (org.groups[0] as { group_id: string }).group_id = "c2hvcnQ=";
    expect(messageOf(() => parseOrgMetadata(json(org)))).toContain(
      'groups[0].group_id: expected base64 of 32 bytes, got "c2hvcnQ="',
    );
  });

  test("durations must be Go durations", () => {
    const text = json(orgMetadata()).replace('"connection_timeout":"5s"', '"connection_timeout":"5 seconds"');
    expect(messageOf(() => parseOrgMetadata(text))).toContain("payment_channel_storage_client.connection_timeout");
  });

  test("a group without a default pricing entry is refused at parse time", () => {
    const svc = serviceMetadata();
    (svc.groups[0] as { pricing: unknown[] }).pricing = [{ price_model: "fixed_price", price_in_cogs: 1 }];
    expect(messageOf(() => parseServiceMetadata(json(svc)))).toContain(
      'group "default_group" has no pricing entry with "default": true',
    );
  });

  test("not JSON", () => {
    expect(messageOf(() => parseServiceMetadata("<html>"))).toStartWith(
      "invalid-document: service metadata is not valid JSON",
    );
  });
});

describe("selectGroup", () => {
  const org = parseOrgMetadata(json(orgMetadata()));

  test("builds the daemon's view of the group", () => {
    const text = json(serviceMetadata())
      .replace('"free_calls":0', '"free_calls":18446744073709551617')
      .replace('"free_call_signer_address":""', `"free_call_signer_address":"${FREE_CALL_SIGNER}"`);
    const group = selectGroup(org, parseServiceMetadata(text), "default_group", ids);
    expect(group).toMatchObject({
      orgId: "snet-test-org",
      serviceId: "example-service",
      groupName: "default_group",
      groupIdBase64: GROUP_ID_BASE64,
      paymentAddress: PAYMENT_ADDRESS.toLowerCase(),
      expirationThreshold: 100n,
      storageEndpoints: ["http://127.0.0.1:2379"],
      storageConnectionTimeoutMs: 5000,
      storageRequestTimeoutMs: 3000,
      mpeAddress: MPE_ADDRESS.toLowerCase(),
      encoding: "proto",
      serviceType: "grpc",
      freeCalls: 18446744073709551617n,
      freeCallSignerAddress: FREE_CALL_SIGNER.toLowerCase(),
      apiSource: "ipfs://QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o",
    });
    expect(bytesToHex(group.groupId)).toBe(vectors.constants.group_id_hex);
    expect(priceOf(group.pricing, "/any.Service/method")).toBe(100n);
  });

  test("defaults: no free-call signer, legacy model_ipfs_hash, org id from the document", () => {
    const svc = serviceMetadata({
      service_api_source: undefined,
      model_ipfs_hash: "QmLegacy",
      encoding: undefined,
      service_type: undefined,
    });
    const group = selectGroup(org, parseServiceMetadata(json(svc)), "default_group");
    expect(group.orgId).toBe("snet-test-org");
    expect(group.freeCallSignerAddress).toBeUndefined();
    expect(group.apiSource).toBe("QmLegacy");
    expect(group.encoding).toBe("proto");
    expect(group.serviceType).toBe("grpc");
  });

  test("missing group: names the group, the document and the available groups", () => {
    const svc = parseServiceMetadata(json(serviceMetadata()));
    const twoGroups = parseOrgMetadata(
      json(
        orgMetadata({
          groups: [
            { ...orgMetadata().groups[0], group_name: "a" },
            { ...orgMetadata().groups[0], group_name: "b" },
          ],
        }),
      ),
    );
    expect(messageOf(() => selectGroup(twoGroups, svc, "default_group", ids))).toBe(
      'not-found: group "default_group" not found in organization metadata of "snet-test-org", available: "a", "b"; check daemon_group_name',
    );
    const svcOther = parseServiceMetadata(
      json(serviceMetadata({ groups: [{ ...serviceMetadata().groups[0], group_name: "other" }] })),
    );
    expect(messageOf(() => selectGroup(org, svcOther, "default_group", ids))).toBe(
      'not-found: group "default_group" not found in service metadata of "snet-test-org"/"example-service", available: "other"; check daemon_group_name',
    );
  });

  test("group_id differing between the documents is refused", () => {
    const svc = serviceMetadata({
      groups: [{ ...serviceMetadata().groups[0], group_id: vectors.constants.group2_id_base64 }],
    });
    const msg = messageOf(() => selectGroup(org, parseServiceMetadata(json(svc)), "default_group", ids));
    expect(msg).toContain(`has group_id "${GROUP_ID_BASE64}" in organization metadata`);
    expect(msg).toContain(`but "${vectors.constants.group2_id_base64}" in service metadata`);
  });
});
