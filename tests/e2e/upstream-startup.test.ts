/**
 * Start-up of the upstream a daemon sells (issue 11, protocol/upstreams.md#adapter-selection, also
 * #legacy-http-daemon and #proto-files there): the service metadata's service_type picks it and an
 * unknown one is refused by name; the legacy `daemon_type: http` is refused with what to do instead; an
 * HTTP service's protos that do not compile stop the start; dynamic pricing without any priced method is
 * a warning.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type DaemonProcess, startDaemon } from "../kit/daemon.ts";
import { buildServiceMetadata } from "../kit/registry-publish.ts";
import { GROUP_NAME, startWorld, type World } from "../kit/world.ts";

let world: World;
let scratch: string;

beforeAll(async () => {
  world = await startWorld();
  scratch = mkdtempSync(join(tmpdir(), "snetd-upstream-startup-"));
}, 120_000);

afterAll(async () => {
  await world?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

/** A local service metadata file like the published one, with this service_type. */
function serviceFile(serviceType: string): string {
  const doc = buildServiceMetadata({
    mpeAddress: world.deployment.mpe,
    groupName: GROUP_NAME,
    groupIdBase64: world.group.base64,
    priceInCogs: world.price,
  });
  const file = join(scratch, `service-${serviceType}.json`);
  writeFileSync(file, JSON.stringify({ ...doc, service_type: serviceType }));
  return file;
}

function protoDir(name: string, text: string): string {
  const dir = join(scratch, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "service.proto"), text);
  return dir;
}

async function failedStart(config: Record<string, unknown>) {
  const d = await startDaemon({ config, expectExit: true });
  const { code } = await d.waitExit();
  const logs = d.logs();
  await d.stop();
  expect(logs).not.toMatch(/^\s+at /m);
  return { code, logs };
}

test("an unknown service_type in the metadata → exit 2 naming it", async () => {
  const r = await failedStart(world.daemonConfig({ service_metadata_file: serviceFile("tensorflow") }));
  expect(r.code).toBe(2);
  expect(r.logs).toContain(
    'service_type "tensorflow" in the service metadata is not supported, expected "grpc", "http", "jsonrpc" or "process"',
  );
}, 60_000);

test("daemon_type http (the legacy reverse proxy) → exit 2 saying to use service_type http", async () => {
  const r = await failedStart(world.daemonConfig({ daemon_type: "http" }));
  expect(r.code).toBe(2);
  expect(r.logs).toContain('daemon_type "http" (the legacy reverse proxy without payments) is not supported');
  expect(r.logs).toContain('service_type "http"');
}, 60_000);

test("an HTTP service whose protos do not compile → exit 2 with the compiler's reason", async () => {
  const dir = protoDir(
    "broken",
    'syntax = "proto3";\npackage x;\nmessage In { Missing m = 1; }\nservice S { rpc f(In) returns (In); }\n',
  );
  const r = await failedStart(
    world.daemonConfig({ service_metadata_file: serviceFile("http"), service_proto_dir: dir }),
  );
  expect(r.code).toBe(2);
  expect(r.logs).toContain("failed to compile proto files: ");
  expect(r.logs).toContain("Missing");
}, 60_000);

test("dynamic pricing without any priced method starts with a warning", async () => {
  const dir = protoDir(
    "plain",
    'syntax = "proto3";\npackage x;\nmessage In { string s = 1; }\nservice S { rpc f(In) returns (In); }\n',
  );
  let d: DaemonProcess | undefined;
  try {
    d = await startDaemon({
      config: world.daemonConfig({
        service_metadata_file: serviceFile("http"),
        service_proto_dir: dir,
        enable_dynamic_pricing: true,
      }),
    });
    expect(d.logs()).toContain(
      "enable_dynamic_pricing is true but no method of the service's protos has the pricing option",
    );
  } finally {
    await d?.stop();
  }
}, 60_000);
