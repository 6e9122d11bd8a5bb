/**
 * Authentication of training.Daemon requests (protocol/signatures.md#training-authorisation): EIP-191 over
 * `message ‖ addr(signer_address) ‖ u256(current_block)`, recovered to `signer_address`; `message` is the
 * RPC's name in any case (the block within ±5 of the head) or, for the four read RPCs, "unified" (±600),
 * so a client may sign once for a browsing session.
 */
import type { BlockSource } from "../chain/mpe.ts";
import { Code, SnetError } from "../core/errors.ts";
import {
  badAuthorization,
  badSignerAddress,
  noAuthorization,
  signerMismatch,
  unsupportedMessage,
} from "../core/messages/training.ts";
import {
  type Address,
  checksumAddress,
  isAddress,
  type SignerRecovery,
  trainingAuthMessage,
} from "../core/signatures.ts";
import { BLOCK_WINDOW, requestSigner, requireFreshBlock } from "../payments/request-auth.ts";

/** AuthorizationDetails of every training request. */
export interface Authorization {
  currentBlock: bigint;
  message: string;
  signature: Uint8Array;
  signerAddress: string;
}

export interface AuthDeps {
  blocks: BlockSource;
  recovery: SignerRecovery;
}

/** RPCs that also accept the message "unified". */
export const UNIFIED_RPCS: ReadonlySet<string> = new Set([
  "validate_model_price",
  "train_model_price",
  "get_all_models",
  "get_model",
]);
/** Blocks a "unified" signature stays valid (the reference's unifiedAllowBlockDifference). */
export const UNIFIED_WINDOW = 600n;

/** Errors of the signature itself keep their code under "invalid request: bad authorization provided". */
const asBadAuthorization = (err: unknown): unknown =>
  err instanceof SnetError &&
  (err.code === Code.INVALID_ARGUMENT || err.code === Code.UNAUTHENTICATED || err.code === Code.PERMISSION_DENIED)
    ? badAuthorization(err)
    : err;

/**
 * The signer of a request (lower-case) and the block window its message allows: checks the message, the
 * signature and that it is `signer_address`'s — not the block, which upload chunks check differently.
 */
export function verifySignature(d: AuthDeps, rpc: string, auth: Authorization): { signer: Address; window: bigint } {
  try {
    const unified = UNIFIED_RPCS.has(rpc);
    const m = auth.message.toLowerCase();
    let window: bigint;
    if (m === rpc) window = BLOCK_WINDOW;
    else if (unified && m === "unified") window = UNIFIED_WINDOW;
    else throw unsupportedMessage(auth.message, rpc, unified);
    if (!isAddress(auth.signerAddress)) throw badSignerAddress(auth.signerAddress);
    // Packed exactly as sent: the signed text is the client's spelling of the message.
    const signer = requestSigner(
      d.recovery,
      trainingAuthMessage(auth.message, auth.signerAddress, auth.currentBlock),
      auth.signature,
    );
    if (signer !== auth.signerAddress.toLowerCase()) throw signerMismatch(checksumAddress(signer), auth.signerAddress);
    return { signer, window };
  } catch (err) {
    throw asBadAuthorization(err);
  }
}

/** Authenticates a request of `rpc`; throws "invalid request: …" when it does not. */
export async function authorize(d: AuthDeps, rpc: string, auth: Authorization | undefined): Promise<Address> {
  if (!auth) throw noAuthorization();
  const { signer, window } = verifySignature(d, rpc, auth);
  try {
    await requireFreshBlock(d.blocks, auth.currentBlock, window);
  } catch (err) {
    throw asBadAuthorization(err);
  }
  return signer;
}
