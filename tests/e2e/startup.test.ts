/**
 * What a provider sees when start-up cannot work (issue "Paid calls"): unknown org, service or group,
 * unreachable IPFS or store, metadata that fails CID verification → one clear message and exit 3 (2 for
 * configuration), never a stack trace. And the offline path: metadata from local files.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { ensureBinary, startDaemon } from "../kit/daemon.ts";
import { call, echoClient } from "../kit/echo-service.ts";
import { freePort } from "../kit/ports.ts";
import { metadataUriText, readOrganization, readServiceRegistration } from "../kit/registry-publish.ts";
import { ORG_ID, SERVICE_ID, startWorld, type World } from "../kit/world.ts";

let world: World;
let scratch: string;

beforeAll(async () => {
  await ensureBinary();
  world = await startWorld();
  scratch = mkdtempSync(join(tmpdir(), "snetd-startup-"));
}, 120_000);

afterAll(async () => {
  await world?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

/** Starts the daemon expecting it to give up; returns its exit code and everything it printed. */
async function failedStart(extra: Record<string, unknown>) {
  const d = await startDaemon({ config: world.daemonConfig(extra), binary: true, expectExit: true });
  const { code } = await d.waitExit();
  const logs = d.logs();
  await d.stop();
  // One message, no stack trace.
  expect(logs).not.toMatch(/^\s+at /m);
  return { code, logs };
}

const cidOf = (uriBytes: `0x${string}`) => metadataUriText(uriBytes).replace(/^ipfs:\/\//, "");

describe("start-up failures end with one clear message", () => {
  test("an organization the Registry does not know → exit 3 naming it", async () => {
    const r = await failedStart({ organization_id: "no-such-org" });
    expect(r.code).toBe(3);
    expect(r.logs).toContain("no-such-org");
  }, 60_000);

  test("a service the organization does not have → exit 3 naming it", async () => {
    const r = await failedStart({ service_id: "no-such-service" });
    expect(r.code).toBe(3);
    expect(r.logs).toContain("no-such-service");
  }, 60_000);

  test("a group the metadata does not have → exit 3 listing the groups there are", async () => {
    const r = await failedStart({ daemon_group_name: "gold" });
    expect(r.code).toBe(3);
    expect(r.logs).toContain('"gold"');
    expect(r.logs).toContain('"default_group"');
  }, 60_000);

  test("IPFS unreachable → exit 3 naming the endpoint", async () => {
    const port = await freePort();
    const r = await failedStart({ ipfs_endpoint: `http://127.0.0.1:${port}` });
    expect(r.code).toBe(3);
    expect(r.logs).toContain(`127.0.0.1:${port}`);
  }, 60_000);

  test("etcd unreachable with payment_channel_storage_type etcd → exit 3 naming the endpoints", async () => {
    const port = await freePort();
    const r = await failedStart({
      payment_channel_storage_type: "etcd",
      payment_channel_storage_client: {
        endpoints: [`http://127.0.0.1:${port}`],
        connection_timeout: "2s",
        request_timeout: "2s",
      },
    });
    expect(r.code).toBe(3);
    expect(r.logs).toContain(`127.0.0.1:${port}`);
  }, 60_000);

  test("organization metadata that does not match its CID is refused → exit 3", async () => {
    const org = await readOrganization(world.deployment, ORG_ID);
    const cid = cidOf(org.metadataUri);
    const original = await (await fetch(`${world.ipfs.url}/api/v0/cat?arg=${cid}`, { method: "POST" })).text();
    const forged = original.replace(
      /"payment_address":\s*"0x[0-9a-fA-F]{40}"/,
      '"payment_address": "0x000000000000000000000000000000000000dEaD"',
    );
    expect(forged).not.toBe(original);
    world.ipfs.tamper(cid, new TextEncoder().encode(forged));
    try {
      const r = await failedStart({});
      expect(r.code).toBe(3);
      expect(r.logs).toContain(cid);
    } finally {
      world.ipfs.tamper(cid, new TextEncoder().encode(original));
    }
  }, 60_000);
});

describe("one daemon per embedded store", () => {
  test("a second daemon on the same data_dir stops with a message naming the first, instead of sharing the file", async () => {
    const dataDir = join(scratch, "shared-data");
    const first = await startDaemon({ config: world.daemonConfig({ data_dir: dataDir }), binary: true });
    try {
      const r = await failedStart({ data_dir: dataDir });
      expect(r.code).toBe(3);
      expect(r.logs).toContain(`is in use by another process (pid ${first.pid})`);
      expect(r.logs).toContain("data_dir");
    } finally {
      await first.stop();
    }
    // The lock goes with the first daemon: a new one starts on the same data.
    const again = await startDaemon({ config: world.daemonConfig({ data_dir: dataDir }), binary: true });
    await again.stop();
  }, 60_000);
});

describe("metadata from local files", () => {
  test("with organization_metadata_file and service_metadata_file the daemon needs no Registry or IPFS and sells calls", async () => {
    const org = await readOrganization(world.deployment, ORG_ID);
    const svc = await readServiceRegistration(world.deployment, ORG_ID, SERVICE_ID);
    const fetchDoc = async (uri: `0x${string}`) =>
      (await fetch(`${world.ipfs.url}/api/v0/cat?arg=${cidOf(uri)}`, { method: "POST" })).text();
    const orgFile = join(scratch, "org.json");
    const svcFile = join(scratch, "service.json");
    writeFileSync(orgFile, await fetchDoc(org.metadataUri));
    writeFileSync(svcFile, await fetchDoc(svc.metadataUri));
    const closed = await freePort();
    const d = await startDaemon({
      config: world.daemonConfig({
        organization_metadata_file: orgFile,
        service_metadata_file: svcFile,
        ipfs_endpoint: `http://127.0.0.1:${closed}`,
      }),
      binary: true,
    });
    const client = echoClient(d.endpoint);
    try {
      await d.showLogsOnFailure(async () => {
        const ch = await world.openFundedChannel({ value: 10n * world.price });
        const r = await call(client, "Echo", { text: "offline metadata" }, ch.pay(world.price));
        expect(r.status.code).toBe(grpc.status.OK);
        expect(r.response?.text).toBe("offline metadata");
      });
    } finally {
      client.close();
      await d.stop();
    }
  }, 60_000);
});
