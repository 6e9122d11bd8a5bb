// training.Daemon's paid RPCs through dist/snetd on anvil with the real contracts and the embedded store
// (protocol/upstreams.md#training-payment, protocol/headers.md#train-call-headers): train-call payments at the price stored for the model of the request,
// charged once and only when the provider succeeded; the background status poller.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { privateKeyToAccount } from "viem/accounts";
import { Status } from "../../src/gen/training_pb.ts";
import { mine } from "../kit/anvil.ts";
import { patternBytes } from "../kit/echo-service.ts";
import type { Channel } from "../kit/world.ts";
import { checksumOf } from "./model-provider.ts";
import { eventually, OWNER, STRANGER, startTrainingWorld, type TrainingWorld } from "./setup.ts";
import { trainPayment } from "./training-client.ts";

let tw: TrainingWorld;
const OK = { code: 0, details: "" };

beforeAll(async () => {
  tw = await startTrainingWorld();
}, 120_000);

afterAll(async () => {
  await tw?.stop();
});

const run = <T>(fn: () => Promise<T>) => tw.snetd.daemon.showLogsOnFailure(fn);
const signed = async (ch: Channel) => (await tw.snetd.state(ch)).amount;

async function pricedModel(which: "train" | "validate", fields: Record<string, unknown> = {}) {
  const m = await tw.createModel(OWNER.privateKey, fields);
  const rpc = which === "train" ? "train_model_price" : "validate_model_price";
  const r =
    which === "train"
      ? await tw.t.trainModelPrice({ authorization: await tw.auth(OWNER.privateKey, rpc), modelId: m.modelId })
      : await tw.t.validateModelPrice({ authorization: await tw.auth(OWNER.privateKey, rpc), modelId: m.modelId });
  expect(r.status).toEqual(OK);
  return { model: m, price: r.reply!.price };
}

const train = async (modelId: string, md: Record<string, string | Buffer>) =>
  tw.t.trainModel({ authorization: await tw.auth(OWNER.privateKey, "train_model"), modelId }, md);

describe("train_model", () => {
  test("refused before train_model_price was asked: nothing charged, the provider not called", () =>
    run(async () => {
      const m = await tw.createModel(OWNER.privateKey);
      const ch = await tw.world.openFundedChannel({ client: OWNER });
      const r = await train(m.modelId, trainPayment(ch, 1500n, m.modelId));
      expect(r.status).toEqual({
        code: grpc.status.FAILED_PRECONDITION,
        details: `the price of this call for model "${m.modelId}" is not known yet: call train_model_price first`,
      });
      expect(await signed(ch)).toBe(0n);
      expect(tw.provider.callsOf("train_model")).toHaveLength(0);
    }));

  test("charged exactly the stored training price, once; a replay, another amount or another model's header are refused", () =>
    run(async () => {
      const { model, price } = await pricedModel("train");
      expect(price).toBe(tw.provider.trainPrice);
      const ch = await tw.world.openFundedChannel({ client: OWNER });
      const before = tw.provider.callsOf("train_model").length;
      const r = await train(model.modelId, trainPayment(ch, price, model.modelId));
      expect(r.status).toEqual(OK);
      expect(r.reply!.status).toBe(Status.TRAINING);
      expect(await signed(ch)).toBe(price);
      expect(tw.provider.callsOf("train_model")).toHaveLength(before + 1);
      expect(
        Object.keys(tw.provider.callsOf("train_model").at(-1)!.metadata).filter((k) => k.startsWith("snet-")),
      ).toEqual([]);

      const replay = await train(model.modelId, trainPayment(ch, price, model.modelId));
      expect(replay.status).toEqual({
        code: grpc.status.UNAUTHENTICATED,
        details: `income 0 does not equal to price ${price}`,
      });
      const less = await train(model.modelId, trainPayment(ch, price + 1n, model.modelId));
      expect(less.status).toEqual({
        code: grpc.status.UNAUTHENTICATED,
        details: `income 1 does not equal to price ${price}`,
      });
      // The reference prices the model named in the header; here a cheap model's id cannot pay for this one.
      tw.provider.trainPrice = 10n;
      const cheap = await pricedModel("train");
      tw.provider.trainPrice = 1500n;
      const swapped = await train(model.modelId, trainPayment(ch, 2n * price, cheap.model.modelId));
      expect(swapped.status).toEqual({
        code: grpc.status.INVALID_ARGUMENT,
        details: `"snet-train-model-id" is "${cheap.model.modelId}" but the request is for model "${model.modelId}"`,
      });
      const underpaid = await train(model.modelId, trainPayment(ch, price + 10n, model.modelId));
      expect(underpaid.status.details).toBe(`income 10 does not equal to price ${price}`);
      expect(await signed(ch)).toBe(price);
      expect(tw.provider.callsOf("train_model")).toHaveLength(before + 1);
      const noType = await train(model.modelId, {
        ...trainPayment(ch, 2n * price, model.modelId),
        "snet-payment-type": "escrow",
      });
      expect(noType.status).toEqual({
        code: grpc.status.INVALID_ARGUMENT,
        details: 'unexpected "snet-payment-type", value: "escrow"',
      });
    }));

  test("a provider failure is not charged, and the same payment then goes through", () =>
    run(async () => {
      const { model, price } = await pricedModel("train");
      const ch = await tw.world.openFundedChannel({ client: OWNER });
      tw.provider.failNext("train_model", grpc.status.INTERNAL, "GPU on fire");
      const failed = await train(model.modelId, trainPayment(ch, price, model.modelId));
      expect(failed.status).toEqual({
        code: grpc.status.INTERNAL,
        details: "issue with service: rpc error: code = Internal desc = GPU on fire",
      });
      expect(await signed(ch)).toBe(0n);
      expect((await train(model.modelId, trainPayment(ch, price, model.modelId))).status).toEqual(OK);
      expect(await signed(ch)).toBe(price);
    }));

  test("only the owner may pay to train the model", () =>
    run(async () => {
      const { model, price } = await pricedModel("train");
      const ch = await tw.world.openFundedChannel({ client: STRANGER });
      const r = await tw.t.trainModel(
        { authorization: await tw.auth(STRANGER.privateKey, "train_model"), modelId: model.modelId },
        trainPayment(ch, price, model.modelId),
      );
      expect(r.status).toEqual({
        code: grpc.status.PERMISSION_DENIED,
        details: "unable to access model: error in updating model state: only owner can change the model state",
      });
      expect(await signed(ch)).toBe(0n);
    }));
});

describe("validate_model and the status poller", () => {
  test("charged at the validation price; the link is stored; the poller follows the status over one connection", () =>
    run(async () => {
      const { model, price } = await pricedModel("validate");
      expect(price).toBe(tw.provider.validatePrice);
      const ch = await tw.world.openFundedChannel({ client: OWNER });
      const r = await tw.t.validateModel(
        {
          authorization: await tw.auth(OWNER.privateKey, "validate_model"),
          modelId: model.modelId,
          trainingDataLink: "https://data.example/set.zip",
        },
        trainPayment(ch, price, model.modelId),
      );
      expect(r.status).toEqual(OK);
      expect(r.reply!.status).toBe(Status.VALIDATING);
      expect(await signed(ch)).toBe(price);

      const stored = async () => {
        const all = await tw.t.getAllModels({ authorization: await tw.auth(OWNER.privateKey, "get_all_models") });
        return all.reply!.listOfModels.find((m) => m.modelId === model.modelId)!;
      };
      expect((await stored()).trainingDataLink).toBe("https://data.example/set.zip");
      // get_all_models reads the store only, so the change below can come from the poller alone.
      tw.provider.statusOf.set(model.modelId, Status.VALIDATED);
      await eventually("the poller stores VALIDATED", async () => (await stored()).status === Status.VALIDATED);
      const polls = tw.provider
        .callsOf("get_model_status")
        .filter((c) => (c.request as { modelId: string }).modelId === model.modelId);
      expect(polls.length).toBeGreaterThan(0);
      // Every call of this daemon (RPCs, upload streams, polls) rode one connection.
      expect(new Set(tw.provider.calls.map((c) => c.peer)).size).toBe(1);
    }));
});

describe("upload_and_validate", () => {
  const MiB = 1024 * 1024;
  const chunksOf = async (modelId: string, sizes: number[], key = OWNER.privateKey) => {
    const authorization = await tw.auth(key, "upload_and_validate");
    // As snet-sdk-python 6.0.0 uploads: one authorization for every chunk, 1 MiB batches.
    return sizes.map((size, i) => ({
      authorization,
      uploadInput: {
        modelId,
        data: patternBytes(size),
        fileName: "set.zip",
        fileSize: BigInt(sizes.reduce((a, b) => a + b)),
        batchSize: BigInt(MiB),
        batchNumber: BigInt(i + 1),
        batchCount: BigInt(sizes.length),
      },
    }));
  };

  test("every chunk reaches the provider in order; charged the validation price once; a long upload does not expire", () =>
    run(async () => {
      const { model, price } = await pricedModel("validate");
      const ch = await tw.world.openFundedChannel({ client: OWNER });
      const sizes = [MiB, MiB, MiB, 12345];
      const chunks = await chunksOf(model.modelId, sizes);
      const before = tw.provider.uploads.length;
      // Ten blocks before each chunk after the provider got the previous one: the first chunk's block is
      // far outside ±5 by the end.
      const between = async (n: number) => {
        await eventually(
          `the provider has chunk ${n - 1}`,
          async () => (tw.provider.uploads[before]?.chunks ?? 0) >= n - 1,
        );
        await mine(tw.world.anvil.rpcUrl, 10n);
      };
      const r = await tw.t.upload(chunks, trainPayment(ch, price, model.modelId), { between });
      expect(r.status).toEqual(OK);
      expect(r.reply!.status).toBe(Status.VALIDATING);
      const got = tw.provider.uploads[before]!;
      const expected = chunks.reduce((sum, c) => checksumOf(c.uploadInput.data, sum), 0);
      expect(got).toEqual({
        modelId: model.modelId,
        chunks: 4,
        bytes: 3 * MiB + 12345,
        checksum: expected,
        completed: true,
        cancelled: false,
      });
      expect(await signed(ch)).toBe(price);
    }));

  test("refused and not charged: a chunk of another signer, of another model, a stale first chunk, a provider failure", () =>
    run(async () => {
      const { model, price } = await pricedModel("validate");
      const ch = await tw.world.openFundedChannel({ client: OWNER });
      const md = trainPayment(ch, price, model.modelId);
      const mixed = [
        ...(await chunksOf(model.modelId, [1000])),
        ...(await chunksOf(model.modelId, [1000], STRANGER.privateKey)),
      ];
      const bySomeoneElse = await tw.t.upload(mixed, md);
      const [owner, stranger] = [OWNER, STRANGER].map((a) => privateKeyToAccount(a.privateKey).address);
      expect(bySomeoneElse.status.code).toBe(grpc.status.UNAUTHENTICATED);
      expect(bySomeoneElse.status.details).toBe(
        `invalid request: bad authorization provided: chunk 2: signed by ${stranger}, the upload was started by ${owner}`,
      );
      const abandoned = tw.provider.uploads.at(-1)!;
      await eventually("the provider sees the upload cancelled", async () => abandoned.cancelled);
      expect(abandoned.completed).toBe(false);

      const other = await tw.createModel(OWNER.privateKey);
      const twoModels = [...(await chunksOf(model.modelId, [10])), ...(await chunksOf(other.modelId, [10]))];
      expect((await tw.t.upload(twoModels, md)).status).toEqual({
        code: grpc.status.INVALID_ARGUMENT,
        details: `invalid request: chunk 2 names model "${other.modelId}", the upload is for model "${model.modelId}"`,
      });

      const stale = await chunksOf(model.modelId, [10]);
      await mine(tw.world.anvil.rpcUrl, 10n);
      const uploads = tw.provider.uploads.length;
      expect((await tw.t.upload(stale, md)).status.details).toBe(
        "invalid request: bad authorization provided: authentication failed as the signature passed has expired",
      );
      expect(tw.provider.uploads).toHaveLength(uploads);

      tw.provider.failNext("upload_and_validate", grpc.status.INVALID_ARGUMENT, "not a zip file");
      const failed = await tw.t.upload(await chunksOf(model.modelId, [10, 10]), md);
      expect(failed.status).toEqual({
        code: grpc.status.INVALID_ARGUMENT,
        details: "issue with service: rpc error: code = InvalidArgument desc = not a zip file",
      });
      expect(await signed(ch)).toBe(0n);

      // Painter/draw allows 4 MB (dataset_max_size_mb); the fifth MiB is never forwarded.
      const { model: draw } = await pricedModel("validate", { grpcMethodName: "draw" });
      const drawMd = trainPayment(ch, price, draw.modelId);
      const overLimit = await tw.t.upload(await chunksOf(draw.modelId, [MiB, MiB, MiB, MiB, MiB]), drawMd);
      expect(overLimit.status).toEqual({
        code: grpc.status.RESOURCE_EXHAUSTED,
        details: 'invalid request: the dataset is larger than 4 MB, the dataset_max_size_mb of "Painter/draw"',
      });
      const cut = tw.provider.uploads.at(-1)!;
      await eventually("the provider sees the upload cancelled", async () => cut.cancelled);
      expect(cut.bytes).toBeLessThanOrEqual(4 * MiB);

      const tooBig = await tw.t.upload(await chunksOf(model.modelId, [5 * MiB]), md);
      expect(tooBig.status.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect((await tw.t.upload([], md)).status).toEqual({
        code: grpc.status.INVALID_ARGUMENT,
        details: "invalid request: the upload has no chunk",
      });
      expect(await signed(ch)).toBe(0n);
      expect((await tw.t.upload(await chunksOf(model.modelId, [10]), md)).status).toEqual(OK);
      expect(await signed(ch)).toBe(price);
    }));
});

test("SIGTERM with models still pending: the poller and the provider connection stop, the daemon exits 0", () =>
  run(async () => {
    // The models trained above report VALIDATING (the provider's default), so the poller is still busy.
    expect(await tw.snetd.daemon.kill("SIGTERM")).toBe(0);
  }));
