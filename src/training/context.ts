/**
 * What every training use case gets: the model book, the provider, authentication, the protos' catalogue,
 * the ids the provider is told, and the call's own context (deadline, cancellation, payment metadata).
 */
import { SnetError } from "../core/errors.ts";
import { emptyModelId, modelNotFound, noAccess, notOwner } from "../core/messages/training.ts";
import type { MetadataView } from "../core/payment-headers.ts";
import { type Address, checksumAddress } from "../core/signatures.ts";
import { Status } from "../gen/training_pb.ts";
import type { EscrowDeps } from "../payments/escrow-gate.ts";
import type { ModelRecord } from "../store/training-records.ts";
import type { AuthDeps } from "./auth.ts";
import type { TrainingCatalog } from "./catalog.ts";
import type { ModelBook } from "./model-book.ts";
import type { ModelProvider, ProviderCallOptions } from "./provider.ts";

export interface TrainingDeps {
  book: ModelBook;
  provider: ModelProvider;
  auth: AuthDeps;
  catalog: TrainingCatalog;
  /** Filled into NewModel for the provider; stored with each model. */
  ids: { organizationId: string; serviceId: string; groupId: string };
  /** Deadline of a provider call when the client set none (`service_timeout`). */
  callTimeoutMs: number;
  /** Escrow admission of the paid RPCs (train-call); the price comes from the model. */
  escrow: EscrowDeps;
  /** Decodes a `-bin` header value. */
  decodeBase64: (value: string) => Uint8Array;
  now?: () => Date;
  /** Failures that do not fail the call (a status that could not be stored after the provider ran). */
  onBackgroundError?: (what: string, err: unknown) => void;
}

/** One call as the use cases see it. */
export interface CallContext {
  /** Full gRPC path, e.g. "/training.Daemon/train_model". */
  path: string;
  metadata: MetadataView;
  /** The client's deadline in ms, undefined when it set none. */
  timeoutMs: number | undefined;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
}

/** The reference's fixed deadlines of two provider calls. */
export const DELETE_TIMEOUT_MS = 60_000;
export const STATUS_TIMEOUT_MS = 20_000;

/** Provider call options: the client's deadline, else `callTimeoutMs`, capped at `capMs`. */
export function providerOptions(
  d: TrainingDeps,
  ctx: CallContext,
  capMs = Number.POSITIVE_INFINITY,
): ProviderCallOptions {
  return { timeoutMs: Math.max(1, Math.min(ctx.timeoutMs ?? d.callTimeoutMs, capMs)), signal: ctx.signal };
}

/** The current time as stored in records (ISO 8601, UTC). */
export const nowIso = (d: Pick<TrainingDeps, "now">) => (d.now?.() ?? new Date()).toISOString();

/** Refuses an empty model id. */
export function requireModelId(id: string): string {
  if (id === "") throw emptyModelId();
  return id;
}

/** A model that exists and is not deleted. */
async function liveModel(d: TrainingDeps, id: string): Promise<ModelRecord> {
  const model = await d.book.get(requireModelId(id));
  if (!model || model.status === Status.DELETED) throw modelNotFound(id);
  return model;
}

/** The model, which `signer` must have created. */
export async function ownedModel(d: TrainingDeps, id: string, signer: Address): Promise<ModelRecord> {
  const model = await liveModel(d, id);
  if (model.createdBy.toLowerCase() !== signer) throw notOwner();
  return model;
}

/** The model, which must be public or shared with `signer`. */
export async function accessibleModel(d: TrainingDeps, id: string, signer: Address): Promise<ModelRecord> {
  const model = await liveModel(d, id);
  if (!model.isPublic && !model.addressList.some((a) => a.toLowerCase() === signer))
    throw noAccess(checksumAddress(signer), id);
  return model;
}

/** `err` under the prefix `wrap` gives it, when it is a SnetError (the provider's failures always are). */
export function wrapped(err: unknown, wrap: (e: SnetError) => SnetError): unknown {
  return err instanceof SnetError ? wrap(err) : err;
}
