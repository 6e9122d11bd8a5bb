/**
 * The swappable metadata view (src/metadata/live-view.ts) and the daemon's restart rule
 * (src/app/live-metadata.ts): an identical document is no change, a new price is applied in one swap and
 * described, and a change of the payment address is refused with the advice to restart.
 */
import { describe, expect, test } from "bun:test";
import { restartRule } from "../../src/app/live-metadata.ts";
import { loadConfig } from "../../src/config/load.ts";
import type { Config } from "../../src/config/schema.ts";
import { createMetadataView, type MetadataSnapshot } from "../../src/metadata/live-view.ts";
import { parseOrgMetadata, parseServiceMetadata, selectGroup } from "../../src/metadata/model.ts";
import { orgMetadata, serviceMetadata } from "./fixtures.ts";

function snapshot(org: object, service: object): MetadataSnapshot {
  const o = parseOrgMetadata(JSON.stringify(org));
  const s = parseServiceMetadata(JSON.stringify(service));
  return {
    org: o,
    service: s,
    group: selectGroup(o, s, "default_group", { orgId: "snet-test-org", serviceId: "svc" }),
  };
}

const priced = (price: number) =>
  serviceMetadata({
    groups: [
      {
        ...(serviceMetadata().groups[0] as object),
        pricing: [{ price_model: "fixed_price", price_in_cogs: price, default: true }],
      },
    ],
  });
const config = (flags: Record<string, unknown> = {}): Config =>
  loadConfig({ cwd: import.meta.dir, env: {}, flags: { payment_channel_storage_type: "etcd", ...flags } }).config;

describe("metadata view", () => {
  test("the same documents are no change; a new price is swapped in whole and described", () => {
    const view = createMetadataView(snapshot(orgMetadata(), priced(100)));
    const seen: bigint[] = [];
    view.onChange((next) => seen.push((next.group.pricing as { priceInCogs: bigint }).priceInCogs));
    expect(view.offer(snapshot(orgMetadata(), priced(100)))).toEqual({ status: "unchanged" });
    expect(view.offer(snapshot(orgMetadata(), priced(150)))).toEqual({
      status: "applied",
      changes: ["pricing: fixed_price 100 cogs → fixed_price 150 cogs"],
    });
    expect(view.current().group.pricing).toEqual({ model: "fixed_price", priceInCogs: 150n });
    expect(seen).toEqual([150n]);
  });

  test("a new payment address, or new etcd endpoints taken from the metadata, needs a restart", () => {
    const rule = restartRule(config());
    const view = createMetadataView(snapshot(orgMetadata(), priced(100)), rule);
    const moved = orgMetadata();
    (moved.groups[0] as { payment: { payment_address: string } }).payment.payment_address =
      "0x90F79bf6EB2c4f870365E785982E1f101E93b906";
    const r = view.offer(snapshot(moved, priced(100)));
    expect(r.status).toBe("refused");
    expect(r.status === "refused" && r.reason).toBe(
      'it changes payment_address "0x70997970c51812dc3a010c7d01b50e0d17dc79c8" → "0x90f79bf6eb2c4f870365e785982e1f101e93b906", which needs a restart of snetd to apply',
    );
    expect(view.current().group.paymentAddress.toLowerCase()).toBe("0x70997970c51812dc3a010c7d01b50e0d17dc79c8");

    const etcd = orgMetadata();
    (
      etcd.groups[0] as { payment: { payment_channel_storage_client: { endpoints: string[] } } }
    ).payment.payment_channel_storage_client.endpoints = ["http://10.0.0.2:2379"];
    expect(view.offer(snapshot(etcd, priced(100))).status).toBe("refused");
    // With endpoints in the configuration, the metadata's are not used: nothing to restart for.
    const configured = createMetadataView(
      snapshot(orgMetadata(), priced(100)),
      restartRule(config({ "payment_channel_storage_client.endpoints": ["http://127.0.0.1:2379"] })),
    );
    expect(configured.offer(snapshot(etcd, priced(100))).status).toBe("applied");
  });
});
