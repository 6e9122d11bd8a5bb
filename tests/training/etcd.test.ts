// training.Daemon on etcd (protocol/upstreams.md#training-payment, our own layout on the store contract): two dist/snetd replicas
// of one payment group share a real etcd, so a model created through one is listed, paid for and deleted
// through the other. No model_maintenance_endpoint: the provider is reached at service_endpoint.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { Status } from "../../src/gen/training_pb.ts";
import { type EtcdCluster, startEtcd } from "../kit/etcd.ts";
import { type PaidDaemon, startPaidDaemon } from "../kit/paid-daemon.ts";
import { lower, OWNER, PROTO_DIR, startTrainingWorld, type TrainingWorld } from "./setup.ts";
import { type TrainingClient, trainingClient, trainPayment } from "./training-client.ts";

let etcd: EtcdCluster;
let tw: TrainingWorld;
let second: PaidDaemon;
let t2: TrainingClient;
const OK = { code: 0, details: "" };

beforeAll(async () => {
  etcd = await startEtcd({ members: 1 });
  const store = () => ({
    payment_channel_storage_type: "etcd",
    payment_channel_storage_client: { endpoints: etcd.endpoints },
  });
  tw = await startTrainingWorld({
    config: (_world, provider) => ({
      ...store(),
      service_endpoint: provider.url,
      model_maintenance_endpoint: undefined,
    }),
  });
  second = await startPaidDaemon(tw.world, {
    ...store(),
    service_endpoint: tw.provider.url,
    model_training_enabled: true,
    service_proto_dir: PROTO_DIR,
  });
  t2 = trainingClient(second.daemon.endpoint);
}, 180_000);

afterAll(async () => {
  t2?.close();
  await second?.stop();
  await tw?.stop();
  await etcd?.stop();
});

const run = <T>(fn: () => Promise<T>) => tw.snetd.daemon.showLogsOnFailure(fn);

describe("two replicas on one etcd", () => {
  test("a model created through one replica is read, priced, paid for and deleted through the other", () =>
    run(async () => {
      const m = await tw.createModel(OWNER.privateKey, { name: "shared" });
      const listed = await t2.getAllModels({
        authorization: await tw.auth(OWNER.privateKey, "get_all_models"),
        isPublic: false,
      });
      expect(listed.status).toEqual(OK);
      expect(listed.reply!.listOfModels.map((x) => x.modelId)).toContain(m.modelId);

      const price = await t2.trainModelPrice({
        authorization: await tw.auth(OWNER.privateKey, "train_model_price"),
        modelId: m.modelId,
      });
      expect(price.status).toEqual(OK);
      const ch = await tw.world.openFundedChannel({ client: OWNER });
      const paid = await tw.t.trainModel(
        { authorization: await tw.auth(OWNER.privateKey, "train_model"), modelId: m.modelId },
        trainPayment(ch, price.reply!.price, m.modelId),
      );
      expect(paid.status).toEqual(OK);
      expect(paid.reply!.status).toBe(Status.TRAINING);
      expect((await second.state(ch)).amount).toBe(price.reply!.price);
      const replay = await t2.trainModel(
        { authorization: await tw.auth(OWNER.privateKey, "train_model"), modelId: m.modelId },
        trainPayment(ch, price.reply!.price, m.modelId),
      );
      expect(replay.status.code).toBe(grpc.status.UNAUTHENTICATED);

      tw.provider.statusOf.set(m.modelId, Status.READY_TO_USE);
      const got = await t2.getModel({
        authorization: await tw.auth(OWNER.privateKey, "get_model"),
        modelId: m.modelId,
      });
      expect(got.reply).toMatchObject({ status: Status.READY_TO_USE, createdByAddress: lower(OWNER.privateKey) });

      expect(
        (await t2.deleteModel({ authorization: await tw.auth(OWNER.privateKey, "delete_model"), modelId: m.modelId }))
          .status,
      ).toEqual(OK);
      const gone = await tw.t.getModel({
        authorization: await tw.auth(OWNER.privateKey, "get_model"),
        modelId: m.modelId,
      });
      expect(gone.status.code).toBe(grpc.status.NOT_FOUND);
    }));
});
