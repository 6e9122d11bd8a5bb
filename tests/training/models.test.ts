// training.Daemon's free RPCs through dist/snetd on anvil with the embedded store (protocol/upstreams.md#training-rpcs): the
// metadata RPCs, creating, reading, sharing, listing and deleting models, and who may do what.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { privateKeyToAccount } from "viem/accounts";
import { Status } from "../../src/gen/training_pb.ts";
import { mine } from "../kit/anvil.ts";
import { CLIENTS } from "../kit/contracts.ts";
import { FRIEND, lower, OWNER, STRANGER, startTrainingWorld, type TrainingWorld } from "./setup.ts";
import { signedBy } from "./training-client.ts";

let tw: TrainingWorld;
const OK = { code: 0, details: "" };
const DAY = /^\d{2}-\d{2}-\d{4}$/;

beforeAll(async () => {
  tw = await startTrainingWorld();
}, 120_000);

afterAll(async () => {
  await tw?.stop();
});

const run = <T>(fn: () => Promise<T>) => tw.snetd.daemon.showLogsOnFailure(fn);

describe("training metadata", () => {
  test("trainable methods per service, and the heartbeat says training is on", () =>
    run(async () => {
      const r = await tw.t.getTrainingMetadata({});
      expect(r.status).toEqual(OK);
      expect(r.reply!.trainingEnabled).toBe(true);
      expect(r.reply!.trainingInProto).toBe(true);
      expect(Object.keys(r.reply!.trainingMethods)).toEqual(["Painter"]);
      expect(r.reply!.trainingMethods.Painter!.values.map((v) => v.kind.value)).toEqual(["draw", "sketch"]);
      const hb = (await (await fetch(`${tw.snetd.daemon.url}/heartbeat`)).json()) as Record<string, unknown>;
      expect(hb.trainingMetadata).toEqual({
        trainingEnabled: true,
        trainingInProto: true,
        trainingMethods: { Painter: ["draw", "sketch"] },
      });
    }));

  test("method options 50001-50008 by method name or by model; an unknown method is NOT_FOUND", () =>
    run(async () => {
      const byName = await tw.t.getMethodMetadata({ grpcServiceName: "Painter", grpcMethodName: "draw" });
      expect(byName.status).toEqual(OK);
      expect(byName.reply).toMatchObject({
        defaultModelId: "base",
        maxModelsPerUser: 3n,
        datasetMaxSizeMb: 4n,
        datasetMaxCountFiles: 100n,
        datasetMaxSizeSingleFileMb: 8n,
        datasetFilesType: "png, jpg",
        datasetType: "zip",
        datasetDescription: "pictures of the style to learn",
      });
      const model = await tw.createModel(OWNER.privateKey);
      const byModel = await tw.t.getMethodMetadata({ modelId: model.modelId });
      expect(byModel.status).toEqual(OK);
      expect(byModel.reply).toMatchObject({ defaultModelId: "", maxModelsPerUser: 0n, datasetType: "" });
      const unknown = await tw.t.getMethodMetadata({ grpcServiceName: "Painter", grpcMethodName: "erase" });
      expect(unknown.status).toEqual({
        code: grpc.status.NOT_FOUND,
        details: 'no method "Painter/erase" in the service\'s proto files',
      });
    }));
});

describe("create_model", () => {
  test("the provider gets the NewModel with org, service and group; the model is stored as the signer's", () =>
    run(async () => {
      const before = tw.provider.created.length;
      const m = await tw.createModel(OWNER.privateKey, {
        name: "Impressionist",
        addressList: [FRIEND.address],
        isPublic: false,
      });
      const sent = tw.provider.created[before]!;
      expect(sent).toMatchObject({
        name: "Impressionist",
        grpcServiceName: "Painter",
        grpcMethodName: "sketch",
        organizationId: "snet-test-org",
        serviceId: "example-service",
      });
      expect(sent.groupId).toBe(tw.world.group.base64);
      expect(
        tw.provider.callsOf("create_model").every((c) => !Object.keys(c.metadata).some((k) => k.startsWith("snet-"))),
      ).toBe(true);
      expect(m).toMatchObject({
        status: Status.CREATED,
        name: "Impressionist",
        createdByAddress: lower(OWNER.privateKey),
        isPublic: false,
      });
      expect(m.addressList).toEqual([FRIEND.address, lower(OWNER.privateKey)]);
      expect(m.createdDate).toMatch(DAY);
      const got = await tw.t.getModel({
        authorization: await tw.auth(FRIEND.privateKey, "get_model"),
        modelId: m.modelId,
      });
      expect(got.status).toEqual(OK);
      expect(got.reply!.modelId).toBe(m.modelId);
    }));

  test("refused: no method, a method that is not trainable, a provider failure (nothing stored)", () =>
    run(async () => {
      const auth = await tw.auth(OWNER.privateKey, "create_model");
      const none = await tw.t.createModel({ authorization: auth, model: { name: "x" } });
      expect(none.status).toEqual({
        code: grpc.status.INVALID_ARGUMENT,
        details: "invalid request: no grpc_service_name or grpc_method_name provided",
      });
      const wrong = await tw.t.createModel({
        authorization: auth,
        model: { name: "x", grpcServiceName: "Painter", grpcMethodName: "status" },
      });
      expect(wrong.status.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(wrong.status.details).toBe(
        'invalid request: "Painter/status" is not a trainable method of this service; trainable: "Painter/draw", "Painter/sketch"',
      );
      tw.provider.failNext("create_model", grpc.status.RESOURCE_EXHAUSTED, "no GPU left");
      const failed = await tw.t.createModel({
        authorization: auth,
        model: { name: "x", grpcServiceName: "Painter", grpcMethodName: "draw" },
      });
      expect(failed.status).toEqual({
        code: grpc.status.RESOURCE_EXHAUSTED,
        details: "error in invoking service for model training: rpc error: code = ResourceExhausted desc = no GPU left",
      });
    }));

  test("max_models_per_user (3 for Painter/draw) is enforced per creator; deleted models do not count", () =>
    run(async () => {
      const key = CLIENTS[4]!.privateKey;
      const draw = { grpcMethodName: "draw" };
      const models = [
        await tw.createModel(key, draw),
        await tw.createModel(key, draw),
        await tw.createModel(key, draw),
      ];
      const fourth = await tw.t.createModel({
        authorization: await tw.auth(key, "create_model"),
        model: { name: "4", grpcServiceName: "Painter", grpcMethodName: "draw" },
      });
      expect(fourth.status.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect(fourth.status.details).toBe(
        `invalid request: ${privateKeyToAccount(key).address} already has 3 models of "Painter/draw", the most its max_models_per_user allows`,
      );
      expect(
        (await tw.t.deleteModel({ authorization: await tw.auth(key, "delete_model"), modelId: models[0]!.modelId }))
          .status,
      ).toEqual(OK);
      await tw.createModel(key, draw);
    }));

  test("an id the provider hands out twice keeps its owner", () =>
    run(async () => {
      const m = await tw.createModel(OWNER.privateKey);
      tw.provider.nextModelId = m.modelId;
      const again = await tw.t.createModel({
        authorization: await tw.auth(STRANGER.privateKey, "create_model"),
        model: { name: "steal", grpcServiceName: "Painter", grpcMethodName: "draw" },
      });
      expect(again.status.code).toBe(grpc.status.ALREADY_EXISTS);
      const got = await tw.t.getModel({
        authorization: await tw.auth(OWNER.privateKey, "get_model"),
        modelId: m.modelId,
      });
      expect(got.reply!.createdByAddress).toBe(lower(OWNER.privateKey));
    }));
});

describe("authorization", () => {
  test("refused: no authorization, a signature of another key, a stale block, a message of another RPC", () =>
    run(async () => {
      const model = { name: "x", grpcServiceName: "Painter", grpcMethodName: "draw" };
      const none = await tw.t.createModel({ model });
      expect(none.status).toEqual({
        code: grpc.status.INVALID_ARGUMENT,
        details: "invalid request: no authorization provided",
      });
      const head = await tw.world.head();
      const forged = signedBy(STRANGER.privateKey, "create_model", head, OWNER.address);
      const byOther = await tw.t.createModel({ authorization: forged, model });
      expect(byOther.status.code).toBe(grpc.status.UNAUTHENTICATED);
      expect(byOther.status.details).toBe(
        `invalid request: bad authorization provided: the signature was made by ${privateKeyToAccount(STRANGER.privateKey).address}, not by signer_address "${OWNER.address}"`,
      );
      const stale = await tw.t.createModel({
        authorization: signedBy(OWNER.privateKey, "create_model", head + 10n),
        model,
      });
      expect(stale.status).toEqual({
        code: grpc.status.UNAUTHENTICATED,
        details:
          "invalid request: bad authorization provided: authentication failed as the signature passed has expired",
      });
      const unified = await tw.t.createModel({ authorization: signedBy(OWNER.privateKey, "unified", head), model });
      expect(unified.status.details).toBe(
        'invalid request: bad authorization provided: unsupported message: "unified" for this method, expected "create_model"',
      );
    }));

  test('"unified" reads stay valid for 600 blocks; the RPC name in any case for 5', () =>
    run(async () => {
      const m = await tw.createModel(OWNER.privateKey);
      const signedAt = await tw.world.head();
      const unified = signedBy(OWNER.privateKey, "unified", signedAt);
      const shouting = signedBy(OWNER.privateKey, "GET_MODEL", signedAt);
      expect((await tw.t.getModel({ authorization: shouting, modelId: m.modelId })).status).toEqual(OK);
      await mine(tw.world.anvil.rpcUrl, 300n);
      expect((await tw.t.getModel({ authorization: unified, modelId: m.modelId })).status).toEqual(OK);
      expect((await tw.t.getAllModels({ authorization: unified })).status).toEqual(OK);
      expect((await tw.t.getModel({ authorization: shouting, modelId: m.modelId })).status.code).toBe(
        grpc.status.UNAUTHENTICATED,
      );
    }));

  test("only the owner changes a model; only users on its list (or anyone, if public) read it", () =>
    run(async () => {
      const m = await tw.createModel(OWNER.privateKey, { addressList: [FRIEND.address] });
      const notOwner = "unable to access model: error in updating model state: only owner can change the model state";
      const common = async (key: typeof FRIEND.privateKey, rpc: string) => ({
        authorization: await tw.auth(key, rpc),
        modelId: m.modelId,
      });
      expect((await tw.t.trainModelPrice(await common(FRIEND.privateKey, "train_model_price"))).status).toEqual({
        code: grpc.status.PERMISSION_DENIED,
        details: notOwner,
      });
      expect((await tw.t.deleteModel(await common(FRIEND.privateKey, "delete_model"))).status.details).toBe(notOwner);
      expect(
        (await tw.t.updateModel({ ...(await common(STRANGER.privateKey, "update_model")), modelName: "mine" })).status
          .details,
      ).toBe(notOwner);
      expect((await tw.t.getModel(await common(FRIEND.privateKey, "get_model"))).status).toEqual(OK);
      const stranger = await tw.t.getModel(await common(STRANGER.privateKey, "get_model"));
      expect(stranger.status.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(stranger.status.details).toStartWith("unable to access model: user ");
      const missing = await tw.t.getModel({
        authorization: await tw.auth(OWNER.privateKey, "get_model"),
        modelId: "no-such-model",
      });
      expect(missing.status).toEqual({
        code: grpc.status.NOT_FOUND,
        details: 'unable to access model: model "no-such-model" does not exist',
      });
      const empty = await tw.t.getModel({ authorization: await tw.auth(OWNER.privateKey, "get_model"), modelId: "" });
      expect(empty.status).toEqual({
        code: grpc.status.INVALID_ARGUMENT,
        details: "invalid request: model id can't be empty",
      });
      const pub = await tw.createModel(OWNER.privateKey, { isPublic: true });
      expect(
        (await tw.t.getModel({ authorization: await tw.auth(STRANGER.privateKey, "get_model"), modelId: pub.modelId }))
          .status,
      ).toEqual(OK);
    }));
});
