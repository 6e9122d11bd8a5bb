/**
 * The paid RPCs validate_model and train_model (protocol/upstreams.md#training-payment): paid exactly as an
 * escrow call (payments/escrow-gate.ts: one call per channel, charged in one commit before the provider
 * is asked, given back when it fails), at the price stored for the model named in the request — not the one in
 * `snet-train-model-id`, which the reference trusts so that a cheap model could pay for an expensive one.
 */
import type { Admission } from "../core/admission.ts";
import { modelHeaderMismatch, priceNotKnown, serviceIssue } from "../core/messages/training.ts";
import { parseTrainPayment } from "../core/train-payment.ts";
import { Status } from "../gen/training_pb.ts";
import { admitEscrow } from "../payments/escrow-gate.ts";
import type { ModelRecord } from "../store/training-records.ts";
import { authorize } from "./auth.ts";
import { type CallContext, nowIso, ownedModel, providerOptions, type TrainingDeps, wrapped } from "./context.ts";
import type { ModelRequest } from "./manage.ts";
import type { ValidateRequest } from "./prices.ts";

/** Which stored price a paid RPC costs, and the RPC that sets it. */
export type PriceKind = "validate" | "train";
const PRICE_RPC: Record<PriceKind, string> = { validate: "validate_model_price", train: "train_model_price" };

/** Admits the train-call payment of `ctx` for `model` at its stored `kind` price; `settle(false)` gives it back. */
export async function admitTrainCall(
  d: TrainingDeps,
  ctx: CallContext,
  model: ModelRecord,
  kind: PriceKind,
): Promise<Admission> {
  const price = kind === "validate" ? model.validatePrice : model.trainPrice;
  if (price === undefined) throw priceNotKnown(model.modelId, PRICE_RPC[kind]);
  const { payment, modelId } = parseTrainPayment(ctx.metadata, d.decodeBase64);
  if (modelId !== model.modelId) throw modelHeaderMismatch(modelId, model.modelId);
  return admitEscrow({ ...d.escrow, price: () => price }, ctx.path, payment);
}

/** Runs `work` under an admitted payment: the charge is kept iff it succeeds, else given back. */
export async function charged<T>(admission: Admission, work: () => Promise<T>): Promise<T> {
  let result: T;
  try {
    result = await work();
  } catch (err) {
    await admission.settle(false);
    throw err;
  }
  await admission.settle(true);
  return result;
}

/** Stores what the provider said; a store failure here is logged, the call already happened. */
export async function recordStatus(d: TrainingDeps, modelId: string, change: Partial<ModelRecord>): Promise<void> {
  const at = nowIso(d);
  await d.book
    .update(modelId, (m) => (m.status === Status.DELETED ? m : { ...m, ...change, updatedAt: at }))
    .catch((err: unknown) => d.onBackgroundError?.(`store the status of model "${modelId}"`, err));
}

/** validate_model (paid, validation price): the provider validates the dataset at `training_data_link`. */
export async function validateModel(d: TrainingDeps, ctx: CallContext, req: ValidateRequest): Promise<Status> {
  const signer = await authorize(d.auth, "validate_model", req.authorization);
  const model = await ownedModel(d, req.modelId, signer);
  const admission = await admitTrainCall(d, ctx, model, "validate");
  return charged(admission, async () => {
    let status: Status;
    try {
      status = await d.provider.validateModel(model.modelId, req.trainingDataLink, providerOptions(d, ctx));
    } catch (err) {
      throw wrapped(err, serviceIssue);
    }
    await recordStatus(d, model.modelId, { status, trainingDataLink: req.trainingDataLink });
    return status;
  });
}

/** train_model (paid, training price): the provider starts training. */
export async function trainModel(d: TrainingDeps, ctx: CallContext, req: ModelRequest): Promise<Status> {
  const signer = await authorize(d.auth, "train_model", req.authorization);
  const model = await ownedModel(d, req.modelId, signer);
  const admission = await admitTrainCall(d, ctx, model, "train");
  return charged(admission, async () => {
    let status: Status;
    try {
      status = await d.provider.trainModel(model.modelId, providerOptions(d, ctx));
    } catch (err) {
      throw wrapped(err, serviceIssue);
    }
    await recordStatus(d, model.modelId, { status });
    return status;
  });
}
