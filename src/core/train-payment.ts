/**
 * Payment metadata of training.Daemon's paid RPCs (protocol/headers.md#train-call-headers): `snet-payment-type: train-call`, the four
 * escrow headers and `snet-train-model-id`. Pure: parsed with the escrow parser and the same messages.
 */
import { missingHeader, tooManyValues, unexpectedPaymentType } from "./messages/requests.ts";
import { type EscrowPayment, type MetadataView, PAYMENT_TYPE, parsePayment } from "./payment-headers.ts";

export const TRAIN_PAYMENT_TYPE = "train-call";
export const TRAIN_MODEL_ID = "snet-train-model-id";

export interface TrainPayment {
  payment: EscrowPayment;
  /** The model the client says it pays for; the daemon prices the model of the request. */
  modelId: string;
}

/** The escrow payment and model id of a train-call, or INVALID_ARGUMENT naming the header at fault. */
export function parseTrainPayment(md: MetadataView, decodeBase64: (v: string) => Uint8Array): TrainPayment {
  const type = md.get(PAYMENT_TYPE) ?? [];
  if (type.length === 0) throw missingHeader(PAYMENT_TYPE);
  if (type.length > 1) throw tooManyValues(PAYMENT_TYPE, type);
  if (type[0] !== TRAIN_PAYMENT_TYPE) throw unexpectedPaymentType(PAYMENT_TYPE, type[0] as string);
  const ids = md.get(TRAIN_MODEL_ID) ?? [];
  if (ids.length === 0) throw missingHeader(TRAIN_MODEL_ID);
  if (ids.length > 1) throw tooManyValues(TRAIN_MODEL_ID, ids);
  const asEscrow = new Map(md);
  asEscrow.set(PAYMENT_TYPE, ["escrow"]);
  return { payment: parsePayment(asEscrow, decodeBase64) as EscrowPayment, modelId: ids[0] as string };
}
