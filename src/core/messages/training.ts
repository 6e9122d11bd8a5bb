/**
 * Catalogue: training.Daemon (protocol/upstreams.md#training). The prefixes are the reference daemon's;
 * snet-sdk-python 6.0.0 turns any error containing "unable to access model" into "no such model", so that
 * prefix is used for every model that is missing, foreign or not the caller's — and for nothing else.
 */
import { Code, SnetError } from "../errors.ts";

const err = (code: Code, message: string, cause?: unknown) =>
  new SnetError(code, message, cause === undefined ? undefined : { cause });
const wrap = (prefix: string, cause: SnetError) => err(cause.code, `${prefix}: ${cause.message}`, cause);

/** Every training.Daemon RPC while training is off (the reference's text, its odd space included). */
export const trainingDisabled = () =>
  err(Code.UNIMPLEMENTED, "service end point is not defined or is invalid , please contact the AI developer");

// ---- Requests ----

/** A request without `authorization`. */
export const noAuthorization = () => err(Code.INVALID_ARGUMENT, "invalid request: no authorization provided");

/** An `authorization` that does not authenticate the caller; `cause` says why and keeps its code. */
export const badAuthorization = (cause: SnetError) => wrap("invalid request: bad authorization provided", cause);

/** The signed `message` is neither the RPC's name nor, where allowed, "unified". */
export const unsupportedMessage = (message: string, rpc: string, unified: boolean) =>
  err(
    Code.INVALID_ARGUMENT,
    `unsupported message: "${message}" for this method, expected "${rpc}"${unified ? ' or "unified"' : ""}`,
  );

/** `signer_address` is not an address. */
export const badSignerAddress = (text: string) =>
  err(Code.INVALID_ARGUMENT, `signer_address "${text}" is not an address, expected 0x followed by 40 hex digits`);

/** The signature recovers to another address than `signer_address`. */
export const signerMismatch = (recovered: string, claimed: string) =>
  err(Code.UNAUTHENTICATED, `the signature was made by ${recovered}, not by signer_address "${claimed}"`);

/** A request naming no model. */
export const emptyModelId = () => err(Code.INVALID_ARGUMENT, "invalid request: model id can't be empty");

/** create_model without the method the model is for. */
export const noServiceOrMethod = () =>
  err(Code.INVALID_ARGUMENT, "invalid request: no grpc_service_name or grpc_method_name provided");

/** create_model for a method whose input has no training.ModelID field. */
export const notTrainable = (service: string, method: string, trainable: readonly string[]) =>
  err(
    Code.INVALID_ARGUMENT,
    `invalid request: "${service}/${method}" is not a trainable method of this service; trainable: ${trainable.length ? trainable.map((t) => `"${t}"`).join(", ") : "none"}`,
  );

/** create_model past the method's `max_models_per_user` option. */
export const tooManyModels = (user: string, max: bigint, service: string, method: string) =>
  err(
    Code.RESOURCE_EXHAUSTED,
    `invalid request: ${user} already has ${max} models of "${service}/${method}", the most its max_models_per_user allows`,
  );

/** An address in `address_list` that is not one. */
export const badAccessAddress = (text: string) =>
  err(
    Code.INVALID_ARGUMENT,
    `invalid request: address_list entry "${text}" is not an address, expected 0x followed by 40 hex digits`,
  );

// ---- Access ----

/** The model does not exist (or was never stored by this daemon group). */
export const modelNotFound = (id: string) =>
  err(Code.NOT_FOUND, `unable to access model: model "${id}" does not exist`);

/** Only the creator may change a model or pay for its validation and training. */
export const notOwner = () =>
  err(
    Code.PERMISSION_DENIED,
    "unable to access model: error in updating model state: only owner can change the model state",
  );

/** The model is neither public nor shared with the caller. */
export const noAccess = (user: string, id: string) =>
  err(Code.PERMISSION_DENIED, `unable to access model: user ${user} does not have access to model "${id}"`);

/** get_method_metadata for a method the service's protos do not define. */
export const unknownMethod = (service: string, method: string) =>
  err(Code.NOT_FOUND, `no method "${service}/${method}" in the service's proto files`);

// ---- Paid RPCs (train-call) ----

/** A paid RPC before its price was asked for (the reference charges 0 then). */
export const priceNotKnown = (id: string, priceRpc: string) =>
  err(Code.FAILED_PRECONDITION, `the price of this call for model "${id}" is not known yet: call ${priceRpc} first`);

/** `snet-train-model-id` names another model than the request. */
export const modelHeaderMismatch = (header: string, inRequest: string) =>
  err(Code.INVALID_ARGUMENT, `"snet-train-model-id" is "${header}" but the request is for model "${inRequest}"`);

/** upload_and_validate ended before its first chunk. */
export const emptyUpload = () => err(Code.INVALID_ARGUMENT, "invalid request: the upload has no chunk");

/** An upload chunk without `upload_input`. */
export const chunkWithoutInput = (n: number) =>
  err(Code.INVALID_ARGUMENT, `invalid request: chunk ${n} of the upload has no upload_input`);

/** A chunk naming another model than the first. */
export const chunkModelChanged = (first: string, got: string, n: number) =>
  err(Code.INVALID_ARGUMENT, `invalid request: chunk ${n} names model "${got}", the upload is for model "${first}"`);

/** A chunk signed by someone else than the first, or signed before the upload began. */
export const chunkNotByUploader = (n: number, detail: string) =>
  err(Code.UNAUTHENTICATED, `invalid request: bad authorization provided: chunk ${n}: ${detail}`);

// ---- The provider's training.Model ----

/** A failed call of the provider's Model service, other than create_model. */
export const serviceIssue = (cause: SnetError) => wrap("issue with service", cause);

/** create_model failed at the provider. */
export const serviceInvocation = (cause: SnetError) => wrap("error in invoking service for model training", cause);

/** The provider answered create_model without a model id. */
export const emptyModelIdFromService = () =>
  err(Code.INTERNAL, "error in invoking service for model training: service returned empty modelID");

/** The provider answered create_model with the id of an existing model: storing it would hand that model over. */
export const modelIdTaken = (id: string) =>
  err(
    Code.ALREADY_EXISTS,
    `error in invoking service for model training: service returned model id "${id}", which already exists`,
  );

/** The provider answered with a gRPC status; the text is grpc-go's, as the reference forwards it. */
export const providerStatus = (code: number, codeName: string, desc: string) =>
  err((code >= 1 && code <= 16 ? code : Code.UNKNOWN) as Code, `rpc error: code = ${codeName} desc = ${desc}`);

/** The provider's training endpoint cannot be reached. */
export const providerUnreachable = (url: string, detail: string, cause?: unknown) =>
  err(
    Code.UNAVAILABLE,
    `rpc error: code = Unavailable desc = cannot reach the training service at "${url}": ${detail}`,
    cause,
  );

/** The provider did not answer in time. */
export const providerDeadline = (path: string, ms: number) =>
  err(Code.DEADLINE_EXCEEDED, `rpc error: code = DeadlineExceeded desc = "${path}" did not answer within ${ms} ms`);

/** The provider's reply is not the message the contract says. */
export const providerBadReply = (path: string, detail: string) =>
  err(Code.INTERNAL, `rpc error: code = Internal desc = the reply of "${path}" cannot be decoded: ${detail}`);

/** The model could not be stored or updated (the reference's "daemon storage error" prefix). */
export const daemonStorage = (cause: SnetError) => wrap("daemon storage error", cause);

/** An upload that stalled: no chunk and no end within the idle limit. */
export const uploadStalled = (ms: number) =>
  err(Code.DEADLINE_EXCEEDED, `the upload sent no chunk for ${ms} ms; send the rest sooner or set a deadline`);

/** An upload past its method's `dataset_max_size_mb`. */
export const datasetTooLarge = (maxMb: bigint, service: string, method: string) =>
  err(
    Code.RESOURCE_EXHAUSTED,
    `invalid request: the dataset is larger than ${maxMb} MB, the dataset_max_size_mb of "${service}/${method}"`,
  );
