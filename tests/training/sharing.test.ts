// training.Daemon: sharing, listing and deleting models through dist/snetd on anvil with the embedded
// store (protocol/upstreams.md#training-rpcs): update_model re-shares, get_all_models filters and pages what a user may see,
// delete_model removes a model from every list; with training off every RPC gives the reference's error.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import type { Hex } from "viem";
import { Status } from "../../src/gen/training_pb.ts";
import { CLIENTS } from "../kit/contracts.ts";
import { startDaemon } from "../kit/daemon.ts";
import { startPaidDaemon } from "../kit/paid-daemon.ts";
import { lower, PROTO_DIR, startTrainingWorld, type TrainingWorld } from "./setup.ts";
import { trainingClient } from "./training-client.ts";

let tw: TrainingWorld;
const OK = { code: 0, details: "" };
// Fresh accounts for this file, so the lists hold exactly what these tests create.
const ALICE = CLIENTS[3]!;
const BOB = CLIENTS[5]!;
const CAROL = CLIENTS[6]!;

beforeAll(async () => {
  tw = await startTrainingWorld();
}, 120_000);

afterAll(async () => {
  await tw?.stop();
});

const run = <T>(fn: () => Promise<T>) => tw.snetd.daemon.showLogsOnFailure(fn);

async function list(key: Hex, filters: Record<string, unknown> = {}) {
  const r = await tw.t.getAllModels({ authorization: await tw.auth(key, "get_all_models"), ...filters });
  expect(r.status).toEqual(OK);
  return r.reply!.listOfModels.map((m) => m.name);
}

describe("update_model", () => {
  test("renames, re-describes and re-shares; the owner stays on the list; a removed user loses access", () =>
    run(async () => {
      const m = await tw.createModel(ALICE.privateKey, { name: "before", addressList: [BOB.address] });
      expect(await list(BOB.privateKey)).toContain("before");
      const r = await tw.t.updateModel({
        authorization: await tw.auth(ALICE.privateKey, "update_model"),
        modelId: m.modelId,
        modelName: "after",
        description: "new words",
        addressList: [CAROL.address],
      });
      expect(r.status).toEqual(OK);
      expect(r.reply).toMatchObject({
        name: "after",
        description: "new words",
        updatedByAddress: lower(ALICE.privateKey),
      });
      expect(r.reply!.addressList).toEqual([CAROL.address, lower(ALICE.privateKey)]);
      expect(await list(BOB.privateKey)).not.toContain("after");
      expect(await list(CAROL.privateKey)).toContain("after");
      const denied = await tw.t.getModel({
        authorization: await tw.auth(BOB.privateKey, "get_model"),
        modelId: m.modelId,
      });
      expect(denied.status.code).toBe(grpc.status.PERMISSION_DENIED);
      // Unset fields and an empty list change nothing.
      const same = await tw.t.updateModel({
        authorization: await tw.auth(ALICE.privateKey, "update_model"),
        modelId: m.modelId,
      });
      expect(same.reply).toMatchObject({ name: "after", description: "new words" });
      expect(same.reply!.addressList).toEqual([CAROL.address, lower(ALICE.privateKey)]);
      const bad = await tw.t.updateModel({
        authorization: await tw.auth(ALICE.privateKey, "update_model"),
        modelId: m.modelId,
        addressList: ["carol"],
      });
      expect(bad.status).toEqual({
        code: grpc.status.INVALID_ARGUMENT,
        details: 'invalid request: address_list entry "carol" is not an address, expected 0x followed by 40 hex digits',
      });
    }));
});

describe("get_all_models", () => {
  test("the caller's private models and every public one, filtered by name, method, creator, status and publicity", () =>
    run(async () => {
      const key = CLIENTS[4]!.privateKey;
      await tw.createModel(key, { name: "Alpha Private" });
      await tw.createModel(key, { name: "beta private", grpcMethodName: "draw" });
      await tw.createModel(ALICE.privateKey, { name: "Gamma Public", isPublic: true });
      const all = await list(key);
      expect(all.slice(0, 2)).toEqual(["Alpha Private", "beta private"]);
      expect(all).toContain("Gamma Public");
      expect(all).not.toContain("before");
      expect(await list(key, { name: "PRIVATE" })).toEqual(["Alpha Private", "beta private"]);
      expect(await list(key, { grpcMethodName: "draw" })).toEqual(["beta private"]);
      expect(await list(key, { isPublic: false })).toEqual(["Alpha Private", "beta private"]);
      expect(await list(key, { isPublic: true })).not.toContain("Alpha Private");
      expect(
        await list(key, { isPublic: true, createdByAddress: ALICE.address.toUpperCase().replace("0X", "0x") }),
      ).toContain("Gamma Public");
      expect(await list(key, { statuses: [Status.TRAINING] })).toEqual([]);
      expect(await list(key, { statuses: [Status.CREATED], isPublic: false })).toEqual([
        "Alpha Private",
        "beta private",
      ]);
    }));

  test("pages are 0-based; a page past the end is empty", () =>
    run(async () => {
      // Carol also sees the model Alice shared with her; the name filter leaves it out.
      const key = CAROL.privateKey;
      for (const name of ["page1", "page2", "page3"]) await tw.createModel(key, { name });
      const page = (page: bigint) => list(key, { isPublic: false, name: "page", pageSize: 2n, page });
      expect(await page(0n)).toEqual(["page1", "page2"]);
      expect(await page(1n)).toEqual(["page3"]);
      expect(await page(2n)).toEqual([]);
      // page_size 0 with a page set: pages of one.
      expect(await list(key, { isPublic: false, name: "page", page: 1n })).toEqual(["page2"]);
    }));
});

describe("delete_model", () => {
  test("the provider deletes it; it leaves every list and cannot be read or changed again", () =>
    run(async () => {
      const m = await tw.createModel(ALICE.privateKey, { name: "doomed", isPublic: true, addressList: [BOB.address] });
      const r = await tw.t.deleteModel({
        authorization: await tw.auth(ALICE.privateKey, "delete_model"),
        modelId: m.modelId,
      });
      expect(r.status).toEqual(OK);
      expect(r.reply!.status).toBe(Status.DELETED);
      expect(tw.provider.callsOf("delete_model").map((c) => (c.request as { modelId: string }).modelId)).toContain(
        m.modelId,
      );
      expect(await list(BOB.privateKey)).not.toContain("doomed");
      expect(await list(CAROL.privateKey, { isPublic: true })).not.toContain("doomed");
      const gone = await tw.t.getModel({
        authorization: await tw.auth(ALICE.privateKey, "get_model"),
        modelId: m.modelId,
      });
      expect(gone.status).toEqual({
        code: grpc.status.NOT_FOUND,
        details: `unable to access model: model "${m.modelId}" does not exist`,
      });
    }));

  test("a provider failure deletes nothing", () =>
    run(async () => {
      const m = await tw.createModel(ALICE.privateKey, { name: "survivor" });
      tw.provider.failNext("delete_model", grpc.status.UNAVAILABLE, "busy");
      const r = await tw.t.deleteModel({
        authorization: await tw.auth(ALICE.privateKey, "delete_model"),
        modelId: m.modelId,
      });
      expect(r.status).toEqual({
        code: grpc.status.UNAVAILABLE,
        details: "issue with service: rpc error: code = Unavailable desc = busy",
      });
      expect(await list(ALICE.privateKey)).toContain("survivor");
    }));
});

describe("training off", () => {
  const OFF = "service end point is not defined or is invalid , please contact the AI developer";

  test("model_training_enabled false: every RPC gives the reference's error; no trainingMetadata in the heartbeat", () =>
    run(async () => {
      const off = await startPaidDaemon(tw.world, { service_proto_dir: PROTO_DIR });
      const t = trainingClient(off.daemon.endpoint);
      try {
        expect((await t.getTrainingMetadata({})).status).toEqual({ code: grpc.status.UNIMPLEMENTED, details: OFF });
        expect(
          (await t.createModel({ authorization: await tw.auth(ALICE.privateKey, "create_model") })).status.details,
        ).toBe(OFF);
        expect(
          (await t.upload([{ authorization: await tw.auth(ALICE.privateKey, "upload_and_validate") }])).status.details,
        ).toBe(OFF);
        const hb = (await (await fetch(`${off.daemon.url}/heartbeat`)).json()) as Record<string, unknown>;
        expect(hb).not.toHaveProperty("trainingMetadata");
      } finally {
        t.close();
        await off.stop();
      }
    }));

  test("blockchain_enabled false: the same error (no chain, no payments, no training)", async () => {
    const off = await startDaemon({
      config: {
        blockchain_enabled: false,
        service_endpoint: `http://${tw.world.echo.address}`,
        model_training_enabled: true,
      },
    });
    const t = trainingClient(off.endpoint);
    try {
      expect((await t.getTrainingMetadata({})).status).toEqual({ code: grpc.status.UNIMPLEMENTED, details: OFF });
    } finally {
      t.close();
      await off.stop();
    }
  });
});
