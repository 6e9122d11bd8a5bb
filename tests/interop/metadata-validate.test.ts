// The organization and service documents the test kit publishes pass snet-cli 3.1.1's own validators
// (`snet organization validate-metadata`, `snet service validate-metadata`), read back from the Registry
// and the test IPFS exactly as clients fetch them; a document with an empty description does not.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FREE_CALL_SIGNER, PROVIDER } from "../kit/contracts.ts";
import { metadataUriText, readOrganization, readServiceRegistration } from "../kit/registry-publish.ts";
import { ORG_ID, SERVICE_ID, startWorld, type World } from "../kit/world.ts";
import { clientGate } from "./clients.ts";
import { preflight, runPython } from "./python-env.ts";

const gate = clientGate("snet-cli 3.1.1", "fast");
const STEP_MS = 120_000;

let world: World;
let home: string;
const published: { org?: Record<string, unknown>; service?: Record<string, unknown> } = {};

async function cat(uri: string): Promise<Record<string, unknown>> {
  const cid = uri.replace(/^ipfs:\/\//, "");
  const res = await fetch(`${world.ipfs.url}/api/v0/cat?arg=${cid}`, { method: "POST" });
  if (!res.ok) throw new Error(`IPFS cat of "${uri}" answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as Record<string, unknown>;
}

/** Runs the validator on `doc` and returns everything it printed (it exits 1 even on success for services). */
async function validate(kind: "organization" | "service", doc: object): Promise<string> {
  const file = join(home, `${kind}-${crypto.randomUUID()}.json`);
  writeFileSync(file, JSON.stringify(doc, null, 2));
  const r = await runPython(gate, "snet", [kind, "validate-metadata", "--metadata-file", file], home);
  return `${r.stdout}${r.stderr}`;
}

describe.skipIf(!gate.run)(`${gate.client} validate-metadata on the test kit's documents`, () => {
  beforeAll(async () => {
    await preflight(gate);
    home = mkdtempSync(join(tmpdir(), "snetd-validate-"));
    // snet refuses every command until an identity exists; validating needs no chain.
    const id = await runPython(
      gate,
      "snet",
      ["identity", "create", "validator", "key", "--private-key", PROVIDER.privateKey, "-de"],
      home,
    );
    if (id.code !== 0) throw new Error(`'snet identity create' exited ${id.code}:\n${id.stdout}${id.stderr}`);
    // The free-call variant carries every optional field the kit writes.
    world = await startWorld({
      freeCalls: 2,
      freeCallSignerAddress: FREE_CALL_SIGNER.address,
      endpoints: ["http://127.0.0.1:7000"],
    });
    published.org = await cat(metadataUriText((await readOrganization(world.deployment, ORG_ID)).metadataUri));
    published.service = await cat(
      metadataUriText((await readServiceRegistration(world.deployment, ORG_ID, SERVICE_ID)).metadataUri),
    );
  }, STEP_MS);

  afterAll(async () => {
    await world?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  test(
    "the published organization metadata is valid and ready to publish",
    async () => {
      const out = await validate("organization", published.org as object);
      expect(out).toContain("Organization metadata is valid and ready to publish.");
      expect(out).not.toContain("errors found");
    },
    STEP_MS,
  );

  test(
    "the published service metadata is valid",
    async () => {
      const out = await validate("service", published.service as object);
      expect(out).toContain("Service metadata is valid.");
      expect(out).not.toContain("errors found");
    },
    STEP_MS,
  );

  test(
    "the validators catch what the kit used to publish: empty descriptions, storage endpoints, daemon addresses",
    async () => {
      const org = structuredClone(published.org) as {
        description: Record<string, string>;
        groups: { payment: { payment_channel_storage_client: { endpoints: string[] } } }[];
      };
      org.description = { description: "", short_description: "", url: "" };
      (org.groups[0] as (typeof org.groups)[0]).payment.payment_channel_storage_client.endpoints = [];
      const orgOut = await validate("organization", org);
      expect(orgOut).toContain("`description` -> `description` - '' should be non-empty");
      expect(orgOut).toContain("`endpoints` - [] should be non-empty");

      const service = structuredClone(published.service) as {
        groups: Record<string, unknown>[];
        contributors?: unknown;
      };
      (service.groups[0] as Record<string, unknown>).daemon_addresses = [];
      delete service.contributors;
      const serviceOut = await validate("service", service);
      expect(serviceOut).toContain("`groups` -> `0` -> `daemon_addresses` - minimum 1 item required.");
      expect(serviceOut).toContain("'contributors' is a required property");
    },
    STEP_MS,
  );
});
