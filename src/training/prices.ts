/**
 * The two price RPCs (protocol/upstreams.md#training-rpcs): the owner asks, the provider answers, the answer
 * is stored with the model and is then the exact price of the paid RPCs — validation (validate_model,
 * upload_and_validate) and training (train_model). A paid RPC before its price was asked for is refused.
 */
import { serviceIssue } from "../core/messages/training.ts";
import { type Authorization, authorize } from "./auth.ts";
import { type CallContext, ownedModel, providerOptions, type TrainingDeps, wrapped } from "./context.ts";
import type { ModelRequest } from "./manage.ts";

export interface ValidateRequest {
  authorization?: Authorization | undefined;
  modelId: string;
  trainingDataLink: string;
}

async function askPrice(ask: () => Promise<bigint>): Promise<bigint> {
  try {
    return await ask();
  } catch (err) {
    throw wrapped(err, serviceIssue);
  }
}

/** validate_model_price: the provider's price for validating the model's dataset, stored. */
export async function validateModelPrice(d: TrainingDeps, ctx: CallContext, req: ValidateRequest): Promise<bigint> {
  const signer = await authorize(d.auth, "validate_model_price", req.authorization);
  const model = await ownedModel(d, req.modelId, signer);
  const price = await askPrice(() =>
    d.provider.validateModelPrice(model.modelId, req.trainingDataLink, providerOptions(d, ctx)),
  );
  await d.book.update(model.modelId, (m) => (m.validatePrice === price ? m : { ...m, validatePrice: price }));
  return price;
}

/** train_model_price: the provider's price for training the model, stored. */
export async function trainModelPrice(d: TrainingDeps, ctx: CallContext, req: ModelRequest): Promise<bigint> {
  const signer = await authorize(d.auth, "train_model_price", req.authorization);
  const model = await ownedModel(d, req.modelId, signer);
  const price = await askPrice(() => d.provider.trainModelPrice(model.modelId, providerOptions(d, ctx)));
  await d.book.update(model.modelId, (m) => (m.trainPrice === price ? m : { ...m, trainPrice: price }));
  return price;
}
