// loadMetadata end to end: local files, and Registry on anvil → test IPFS → verified documents → group.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { createTarGzip } from "nanotar";
import { priceOf } from "../../src/metadata/pricing.ts";
import { type LoadMetadataConfig, loadMetadata } from "../../src/metadata/resolve.ts";
import { type IpfsServer, startIpfsServer } from "../kit/ipfs-server.ts";
import { type RegistryChain, startRegistryChain } from "./anvil-registry.ts";
import { orgMetadata, PAYMENT_ADDRESS, serviceMetadata } from "./fixtures.ts";
import { reasonOf } from "./reason-of.ts";

const utf8 = (s: string) => new TextEncoder().encode(s);
const PROTO = 'syntax = "proto3";\npackage example_service;\n';
const readFileDep = (f: string) => readFile(f);

let dir: string;
let ipfs: IpfsServer;
let chain: RegistryChain;
let base: LoadMetadataConfig;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "snetd-metadata-"));
  ipfs = await startIpfsServer();
  chain = await startRegistryChain();
  base = {
    organization_id: "snet-test-org",
    service_id: "example-service",
    daemon_group_name: "default_group",
    registry_address: chain.registry,
    ipfs_endpoint: ipfs.url,
    ipfs_timeout_s: 10,
    lighthouse_endpoint: `${ipfs.url}/ipfs/`,
  };
});
afterAll(async () => {
  await chain?.stop();
  await ipfs?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("from local files", () => {
  test("both documents and the proto directory; no chain needed; logs that the chain copy is unused", async () => {
    await writeFile(path.join(dir, "org.json"), JSON.stringify(orgMetadata()));
    await writeFile(path.join(dir, "service.json"), JSON.stringify(serviceMetadata({ service_api_source: undefined })));
    await mkdir(path.join(dir, "protos/sub"), { recursive: true });
    await writeFile(path.join(dir, "protos/example.proto"), PROTO);
    await writeFile(path.join(dir, "protos/sub/types.proto"), "// types\n");
    await writeFile(path.join(dir, "protos/notes.txt"), "ignored");
    const logs: string[] = [];
    const loaded = await loadMetadata(
      { readFile: readFileDep, log: (m) => logs.push(m) },
      {
        ...base,
        organization_metadata_file: path.join(dir, "org.json"),
        service_metadata_file: path.join(dir, "service.json"),
        service_proto_dir: path.join(dir, "protos"),
        needProtos: true,
      },
    );
    expect(loaded.source).toBe("files");
    expect<string>(loaded.group.paymentAddress).toBe(PAYMENT_ADDRESS.toLowerCase());
    expect(loaded.protos).toEqual({ "example.proto": PROTO, "sub/types.proto": "// types\n" });
    expect(logs).toHaveLength(3);
    expect(logs[0]).toContain('organization metadata of "snet-test-org" from file');
    expect(logs[0]).toContain("not the Registry copy");
  });

  test("a missing file names the document and the path", async () => {
    const file = path.join(dir, "nope.json");
    const msg = await reasonOf(loadMetadata({ readFile: readFileDep }, { ...base, organization_metadata_file: file }));
    expect(msg).toStartWith(`not-found: cannot read organization metadata of "snet-test-org" from file "${file}"`);
  });

  test("without files or a chain client: says what to configure", async () => {
    const msg = await reasonOf(loadMetadata({ readFile: readFileDep }, base));
    expect(msg).toStartWith("no-registry: ");
    expect(msg).toContain("organization_metadata_file");
  });
});

describe("from the Registry and IPFS", () => {
  let archiveCid: string;
  beforeAll(async () => {
    archiveCid = await ipfs.add(await createTarGzip([{ name: "example_service.proto", data: PROTO }]));
    const orgCid = await ipfs.add(utf8(JSON.stringify(orgMetadata())));
    const svc = JSON.stringify(serviceMetadata({ service_api_source: `ipfs://${archiveCid}` })).replace(
      '"price_in_cogs":100',
      '"price_in_cogs":18446744073709551617',
    );
    const serviceCid = await ipfs.add(utf8(svc));
    await chain.createOrganization("snet-test-org", `ipfs://${orgCid}`);
    await chain.createService("snet-test-org", "example-service", `filecoin://${serviceCid}`);
  });

  test("resolves, verifies and selects the group; protos only when asked", async () => {
    const deps = { publicClient: chain.publicClient, readFile: readFileDep };
    const loaded = await loadMetadata(deps, base);
    expect(loaded.source).toBe("registry");
    expect(loaded.protos).toBeUndefined();
    expect(loaded.group.orgId).toBe("snet-test-org");
    expect(loaded.group.serviceId).toBe("example-service");
    expect(priceOf(loaded.group.pricing, "/example_service.Calculator/add")).toBe(18446744073709551617n);
    expect(loaded.group.apiSource).toBe(`ipfs://${archiveCid}`);
    const withProtos = await loadMetadata(deps, { ...base, needProtos: true });
    expect(withProtos.protos).toEqual({ "example_service.proto": PROTO });
  });

  test("a local file wins over the chain copy for that document only", async () => {
    const file = path.join(dir, "org-local.json");
    await writeFile(
      file,
      JSON.stringify(
        orgMetadata({
          groups: [
            {
              ...orgMetadata().groups[0],
              payment: { ...orgMetadata().groups[0]?.payment, payment_expiration_threshold: 7 },
            },
          ],
        }),
      ),
    );
    const logs: string[] = [];
    const loaded = await loadMetadata(
      { publicClient: chain.publicClient, readFile: readFileDep, log: (m) => logs.push(m) },
      { ...base, organization_metadata_file: file },
    );
    expect(loaded.group.expirationThreshold).toBe(7n);
    expect(loaded.source).toBe("registry");
    expect(logs).toEqual([`using organization metadata of "snet-test-org" from file "${file}", not the Registry copy`]);
  });

  test("the published Registry is used when none is configured; a local chain has none", async () => {
    const { registry_address: _, ...noRegistry } = base;
    const msg = await reasonOf(loadMetadata({ publicClient: chain.publicClient, readFile: readFileDep }, noRegistry));
    expect(msg).toBe(
      "no-registry: no Registry is published for chain id 31337; set registry_address_key to the Registry address",
    );
  });

  test("an unregistered service names the ids", async () => {
    const msg = await reasonOf(
      loadMetadata(
        { publicClient: chain.publicClient, readFile: readFileDep },
        { ...base, service_id: "other-service" },
      ),
    );
    expect(msg).toStartWith('not-found: service "other-service" of organization "snet-test-org" is not registered');
  });

  test("a missing group names the group and what is available", async () => {
    const msg = await reasonOf(
      loadMetadata({ publicClient: chain.publicClient, readFile: readFileDep }, { ...base, daemon_group_name: "nope" }),
    );
    expect(msg).toBe(
      'not-found: group "nope" not found in organization metadata of "snet-test-org", available: "default_group"; check daemon_group_name',
    );
  });

  test("tampered documents and archives are refused, naming which", async () => {
    const org2 = await ipfs.add(utf8(JSON.stringify(orgMetadata({ org_name: "Second" }))));
    await chain.createOrganization("tampered-org", `ipfs://${org2}`);
    ipfs.tamper(org2, utf8(JSON.stringify(orgMetadata({ org_name: "Forged" }))));
    const deps = { publicClient: chain.publicClient, readFile: readFileDep };
    const msg = await reasonOf(loadMetadata(deps, { ...base, organization_id: "tampered-org" }));
    expect(msg).toStartWith('content-mismatch: organization metadata of "tampered-org": content fetched for CID');

    const archive2 = await ipfs.add(await createTarGzip([{ name: "other.proto", data: PROTO }]));
    const svcFile = path.join(dir, "service-tampered-archive.json");
    await writeFile(svcFile, JSON.stringify(serviceMetadata({ service_api_source: `ipfs://${archive2}` })));
    ipfs.tamper(archive2, await createTarGzip([{ name: "other.proto", data: "forged" }]));
    const archiveMsg = await reasonOf(
      loadMetadata(deps, { ...base, service_metadata_file: svcFile, needProtos: true }),
    );
    expect(archiveMsg).toStartWith(`content-mismatch: proto archive "ipfs://${archive2}" of service metadata`);
  });

  test("the archive is fetched only when protos are needed", async () => {
    const svcFile = path.join(dir, "service-unpinned-archive.json");
    const unpinned = "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH";
    await writeFile(svcFile, JSON.stringify(serviceMetadata({ service_api_source: `ipfs://${unpinned}` })));
    const deps = { publicClient: chain.publicClient, readFile: readFileDep };
    expect((await loadMetadata(deps, { ...base, service_metadata_file: svcFile })).group.apiSource).toBe(
      `ipfs://${unpinned}`,
    );
    const msg = await reasonOf(loadMetadata(deps, { ...base, service_metadata_file: svcFile, needProtos: true }));
    expect(msg).toStartWith(`http-status: proto archive "ipfs://${unpinned}" of service metadata`);
  });

  test("an invalid document names the org, the URI and the field", async () => {
    const bad = await ipfs.add(utf8(JSON.stringify(orgMetadata({ groups: "none" }))));
    await chain.createOrganization("bad-org", `ipfs://${bad}`);
    const msg = await reasonOf(
      loadMetadata(
        { publicClient: chain.publicClient, readFile: readFileDep },
        { ...base, organization_id: "bad-org" },
      ),
    );
    expect(msg).toStartWith(
      `invalid-document: organization metadata of "bad-org" from "ipfs://${bad}" is invalid: groups: `,
    );
  });

  test("protos requested but the service names no archive", async () => {
    const svcFile = path.join(dir, "service-no-archive.json");
    await writeFile(svcFile, JSON.stringify(serviceMetadata({ service_api_source: undefined })));
    const msg = await reasonOf(
      loadMetadata(
        { publicClient: chain.publicClient, readFile: readFileDep },
        { ...base, service_metadata_file: svcFile, needProtos: true },
      ),
    );
    expect(msg).toContain("has neither service_api_source nor model_ipfs_hash");
  });
});
