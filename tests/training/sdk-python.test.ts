// snet-sdk-python 6.0.0's training client (snet.sdk.training) against dist/snetd: the SDK finds the
// trainable service through the Registry and IPFS, compiles its protos with training.proto, and runs
// every training RPC it has, the paid ones through its own train-call strategy. A real-client suite of the
// fast tier (tests/interop/clients.ts): it runs in `npm test` on the venv tests/interop/setup.sh builds.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { clientGate } from "../interop/clients.ts";
import { type InteropWorld, startInteropWorld } from "../interop/interop-world.ts";
import { preflight } from "../interop/python-env.ts";
import { channelOnChain } from "../kit/client.ts";
import { CLIENTS, FREE_CALL_SIGNER, PROVIDER } from "../kit/contracts.ts";
import { runCli } from "../kit/daemon.ts";
import { channelState } from "../kit/paid-daemon.ts";
import { buildOrgMetadata, buildProtoArchive, buildServiceMetadata, publishService } from "../kit/registry-publish.ts";
import { GROUP_NAME, ORG_ID, SERVICE_ID } from "../kit/world.ts";
import { type ModelProvider, startModelProvider } from "./model-provider.ts";
import { PROTO_DIR } from "./setup.ts";

const gate = clientGate("snet-sdk-python 6.0.0", "fast");
const venv = gate.home;

/**
 * Republishes the world's metadata with what snet-sdk-python 6.0.0's pydantic models insist on and the
 * kit's minimal documents leave empty (org descriptions, an etcd endpoint, `model_ipfs_hash`). The daemon
 * read the documents at start; only the client sees these.
 */
async function republishForSdk6(iw: InteropWorld, protoFiles: Record<string, string>): Promise<void> {
  const { world } = iw;
  const protoArchive = await buildProtoArchive(protoFiles);
  const protoCid = await world.ipfs.add(protoArchive, "proto.tar.gz");
  const org = buildOrgMetadata({
    orgId: ORG_ID,
    groupName: GROUP_NAME,
    groupIdBase64: world.group.base64,
    paymentAddress: PROVIDER.address,
    expirationThreshold: world.expirationThreshold,
    etcdEndpoints: ["http://127.0.0.1:2379"],
  });
  const service = buildServiceMetadata({
    mpeAddress: world.deployment.mpe,
    groupName: GROUP_NAME,
    groupIdBase64: world.group.base64,
    priceInCogs: world.price,
    endpoints: [iw.info.daemonUrl],
    freeCallSignerAddress: FREE_CALL_SIGNER.address,
    freeCalls: 1,
  });
  await publishService({
    deployment: world.deployment,
    ipfs: world.ipfs,
    orgId: ORG_ID,
    serviceId: SERVICE_ID,
    orgMetadata: {
      ...org,
      description: {
        description: "snetd training tests",
        short_description: "snetd tests",
        url: "https://example.com",
      },
    },
    serviceMetadata: { ...service, model_ipfs_hash: protoCid },
    protoArchive,
  });
}

let provider: ModelProvider;
let w: InteropWorld;
let home: string;

describe.skipIf(!gate.run)("snet-sdk-python 6.0.0 training client", () => {
  beforeAll(async () => {
    await preflight(gate);
    provider = await startModelProvider();
    const protoFiles = { "painter.proto": readFileSync(join(PROTO_DIR, "painter.proto"), "utf8") };
    w = await startInteropWorld({
      binary: true,
      freeCalls: 1,
      protos: protoFiles,
      daemonConfig: { model_training_enabled: true, model_maintenance_endpoint: provider.url },
    });
    await republishForSdk6(w, protoFiles);
    home = mkdtempSync(join(tmpdir(), "snetd-sdk-training-"));
  }, 180_000);

  afterAll(async () => {
    await w?.stop();
    await provider?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  test("every training RPC of the SDK works, paid ones charged at the model's prices", async () => {
    await w.daemon.showLogsOnFailure(async () => {
      const worldFile = join(home, "world.json");
      writeFileSync(worldFile, JSON.stringify(w.info));
      const r = await runCli([join(import.meta.dir, "sdk_training.py"), worldFile, "1", home], {
        command: [join(venv, "bin/python")],
        cwd: home,
        env: { HOME: home, PYTHONWARNINGS: "ignore", PYTHONUNBUFFERED: "1" },
        timeoutMs: 240_000,
      });
      const line = r.stdout.split("\n").find((l) => l.startsWith("RESULT "));
      if (!line) throw new Error(`the SDK script printed no result (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
      const out = JSON.parse(line.slice("RESULT ".length)) as Record<string, unknown>;
      if (out.error) throw new Error(`${out.error}\n${out.trace}`);
      const me = w.info.clients[1]!.address.toLowerCase();
      expect(out.metadata).toEqual({ enabled: true, in_proto: true, methods: { Painter: ["draw", "sketch"] } });
      expect(out.method_metadata).toEqual({
        default_model_id: "base",
        max_models_per_user: 3,
        dataset_files_type: "png, jpg",
      });
      expect(out.created).toMatchObject({
        status: "CREATED",
        name: "sdk model",
        grpc_service_name: "Painter",
        grpc_method_name: "draw",
        created_by_address: me,
      });
      expect(out.updated).toMatchObject({ name: "sdk model v2", description: "renamed" });
      expect(out.validate_price).toBe(Number(provider.validatePrice));
      expect(out.uploaded).toBe("VALIDATING");
      expect(provider.uploads.at(-1)).toMatchObject({ bytes: out.dataset_bytes, completed: true });
      expect(out.train_price).toBe(Number(provider.trainPrice));
      expect(out.trained).toBe("TRAINING");
      expect(out.missing).toBe("NoSuchModelError: Model with id no-such-model not found!");
      expect(out.deleted).toBe("DELETED");
      expect(String(out.after_delete)).toStartWith("NoSuchModelError");
      // The SDK opened a channel for its train-calls: the daemon holds exactly both prices signed.
      const client = CLIENTS[1]!;
      let id = 0n;
      while (id < 50n && (await channelOnChain(w.world.deployment, id)).sender.toLowerCase() !== me) id++;
      const state = await channelState(w.world, w.daemon.endpoint, { id, client });
      expect(state.amount).toBe(provider.validatePrice + provider.trainPrice);
    });
  }, 300_000);
});
