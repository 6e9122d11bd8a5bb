/**
 * upload_and_validate (protocol/upstreams.md#training-rpcs): a client stream of dataset chunks, paid at the
 * model's validation price, each chunk forwarded to the provider's upload_and_validate as it arrives —
 * with the provider's flow control, so memory holds one chunk, never the dataset (the reference buffers
 * it all).
 *
 * Every chunk's authorization is checked: its signature must verify and be the uploader's, and it must
 * name the same model. Only the first chunk's block must be fresh (±5 of the head): a later chunk may
 * carry the same or a later signature, but none older than the upload's start. So a long upload does not
 * expire half-way (the reference re-checks ±5 on every chunk), while a captured chunk cannot start a new
 * upload. An upload that stalls longer than the idle limit is ended instead.
 */

import { cancelledByClient } from "../core/messages/service.ts";
import {
  chunkModelChanged,
  chunkNotByUploader,
  chunkWithoutInput,
  datasetTooLarge,
  emptyUpload,
  noAuthorization,
  serviceIssue,
  uploadStalled,
} from "../core/messages/training.ts";
import { bytesEqual } from "../core/numbers.ts";
import { type Address, checksumAddress } from "../core/signatures.ts";
import type { Status } from "../gen/training_pb.ts";
import { BLOCK_WINDOW } from "../payments/request-auth.ts";
import { type Authorization, authorize, verifySignature } from "./auth.ts";
import { type CallContext, ownedModel, type TrainingDeps, wrapped } from "./context.ts";
import { admitTrainCall, charged, recordStatus } from "./paid.ts";
import type { UploadChunk, UploadStream } from "./provider.ts";

export interface UploadRequest {
  authorization?: Authorization | undefined;
  uploadInput?: UploadChunk | undefined;
}

/** Timers hold at most 2^31-1 ms. */
const MAX_TIMER_MS = 2_147_483_000;

const sameAuthorization = (a: Authorization, b: Authorization) =>
  a.currentBlock === b.currentBlock &&
  a.message === b.message &&
  a.signerAddress === b.signerAddress &&
  bytesEqual(a.signature, b.signature);

/** Checks chunk `n` (1-based) against the upload's start; returns the authorization now known good. */
function checkChunk(
  d: TrainingDeps,
  n: number,
  req: UploadRequest,
  start: { auth: Authorization; signer: Address; modelId: string },
  known: Authorization,
): Authorization {
  const auth = req.authorization;
  if (!auth) throw noAuthorization();
  if (!req.uploadInput) throw chunkWithoutInput(n);
  if (req.uploadInput.modelId !== start.modelId) throw chunkModelChanged(start.modelId, req.uploadInput.modelId, n);
  // Clients sign once per upload (snet-sdk-python 6.0.0 does): the same bytes need no second recovery.
  if (sameAuthorization(auth, known)) return known;
  const { signer } = verifySignature(d.auth, "upload_and_validate", auth);
  if (signer !== start.signer)
    throw chunkNotByUploader(
      n,
      `signed by ${checksumAddress(signer)}, the upload was started by ${checksumAddress(start.signer)}`,
    );
  if (auth.currentBlock + BLOCK_WINDOW < start.auth.currentBlock) {
    throw chunkNotByUploader(
      n,
      `signed at block ${auth.currentBlock}, before the upload began at block ${start.auth.currentBlock}`,
    );
  }
  return auth;
}

/** Waits for `p` unless `signal` fires first (then rejects with its reason). */
function unlessAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/**
 * upload_and_validate: streams the chunks to the provider and returns its status; the charge made at
 * admission is kept only when the provider accepted the whole upload, else given back. `idleMs` bounds the wait for each chunk.
 */
export async function uploadAndValidate(
  d: TrainingDeps,
  ctx: CallContext,
  requests: AsyncIterable<UploadRequest>,
  idleMs: number,
): Promise<Status> {
  const it = requests[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done) throw emptyUpload();
  const signer = await authorize(d.auth, "upload_and_validate", first.value.authorization);
  const input = first.value.uploadInput;
  if (!input) throw chunkWithoutInput(1);
  const model = await ownedModel(d, input.modelId, signer);
  const start = { auth: first.value.authorization as Authorization, signer, modelId: model.modelId };
  const admission = await admitTrainCall(d, ctx, model, "validate");

  return charged(admission, async () => {
    const stop = new AbortController();
    const onClientGone = () => stop.abort(cancelledByClient());
    ctx.signal.addEventListener("abort", onClientGone, { once: true });
    const idle = Math.max(1, Math.min(idleMs, MAX_TIMER_MS));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const awake = () => {
      clearTimeout(timer);
      timer = setTimeout(() => stop.abort(uploadStalled(idle)), idle);
    };
    let stream: UploadStream | undefined;
    try {
      awake();
      const opened = d.provider.uploadAndValidate({
        timeoutMs: Math.min(ctx.timeoutMs ?? MAX_TIMER_MS, MAX_TIMER_MS),
        signal: stop.signal,
      });
      const open = await unlessAborted(
        opened.catch((err: unknown) => Promise.reject(wrapped(err, serviceIssue))),
        stop.signal,
      );
      stream = open;
      const send = (chunk: UploadChunk) =>
        unlessAborted(
          open.send(chunk).catch((err: unknown) => Promise.reject(wrapped(err, serviceIssue))),
          stop.signal,
        );
      // The provider's own limit (option 50003), in MiB as the SDK checks it: never stream it more.
      const maxMb = d.catalog.options(model.grpcServiceName, model.grpcMethodName)?.datasetMaxSizeMb ?? 0n;
      let total = 0n;
      const forward = async (chunk: UploadChunk) => {
        total += BigInt(chunk.data.length);
        if (maxMb > 0n && total > maxMb * 1024n * 1024n)
          throw datasetTooLarge(maxMb, model.grpcServiceName, model.grpcMethodName);
        await send(chunk);
      };
      await forward(input);
      let known = start.auth;
      for (let n = 2; ; n++) {
        awake();
        const next = await unlessAborted(it.next(), stop.signal);
        if (next.done) break;
        known = checkChunk(d, n, next.value, start, known);
        await forward(next.value.uploadInput as UploadChunk);
      }
      // A client that went away may look like a clean end of stream: never validate a truncated upload.
      if (ctx.signal.aborted) throw cancelledByClient();
      // The provider's answer gets the same limit as a chunk.
      awake();
      const status = await unlessAborted(
        open.finish().catch((err: unknown) => Promise.reject(wrapped(err, serviceIssue))),
        stop.signal,
      );
      await recordStatus(d, model.modelId, { status });
      return status;
    } catch (err) {
      stream?.cancel();
      throw err;
    } finally {
      clearTimeout(timer);
      ctx.signal.removeEventListener("abort", onClientGone);
    }
  });
}
