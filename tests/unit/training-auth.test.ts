// The training verifier (training/auth.ts) on the shared training_auth vectors (tests/vectors): the
// vectors' requests authenticate as their signer, in both v forms; the message decides the block window;
// any other message, signer or block is refused with the catalogue's text.
import { describe, expect, test } from "bun:test";
import type { BlockSource } from "../../src/chain/mpe.ts";
import { SnetError } from "../../src/core/errors.ts";
import { hexToBytes } from "../../src/core/numbers.ts";
import { nobleRecovery } from "../../src/crypto/native-recovery.ts";
import { type Authorization, authorize, verifySignature } from "../../src/training/auth.ts";
import vectors from "../vectors/signatures.json" with { type: "json" };

interface Vector {
  id: string;
  kind: string;
  signature: string;
  signature_v01: string;
  signer_address: string;
  request: { message: string; signer_address: string; current_block: string };
}

const cases = (vectors.signatures as unknown as Vector[]).filter(
  (c) => c.kind === "training_auth" && BigInt(c.request.current_block) < 2n ** 64n,
);
const fixedHead = (head: bigint): BlockSource => ({ head: async () => head, stop: () => {} });
const deps = (head: bigint) => ({ blocks: fixedHead(head), recovery: nobleRecovery });
const authOf = (c: Vector, signature = c.signature): Authorization => ({
  currentBlock: BigInt(c.request.current_block),
  message: c.request.message,
  signature: hexToBytes(signature),
  signerAddress: c.request.signer_address,
});
const rpcOf = (c: Vector) => (c.request.message === "unified" ? "get_model" : c.request.message);

async function refusal(p: Promise<unknown>): Promise<SnetError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(SnetError);
    return err as SnetError;
  }
  throw new Error("expected a refusal");
}

describe("training authorization on the shared vectors", () => {
  test("there are vectors for the RPC name and for unified", () => {
    expect(cases.map((c) => c.request.message)).toEqual(["create_model", "unified"]);
  });

  for (const c of cases) {
    test(`${c.id}: authenticates as its signer with v 27/28 and 0/1, at the edge of its window`, async () => {
      const block = BigInt(c.request.current_block);
      const window = c.request.message === "unified" ? 600n : 5n;
      for (const signature of [c.signature, c.signature_v01]) {
        expect(await authorize(deps(block + window), rpcOf(c), authOf(c, signature))).toBe(
          c.signer_address.toLowerCase() as `0x${string}`,
        );
      }
      expect((await refusal(authorize(deps(block + window + 1n), rpcOf(c), authOf(c)))).message).toBe(
        "invalid request: bad authorization provided: authentication failed as the signature passed has expired",
      );
    });
  }

  test("the message must be the RPC's name (any case) or, for the read RPCs, unified", () => {
    const [named, unified] = cases as [Vector, Vector];
    expect(() => verifySignature(deps(0n), "train_model", authOf(named))).toThrow(
      'invalid request: bad authorization provided: unsupported message: "create_model" for this method, expected "train_model"',
    );
    expect(() => verifySignature(deps(0n), "create_model", authOf(unified))).toThrow(
      'unsupported message: "unified" for this method, expected "create_model"',
    );
    for (const rpc of ["get_model", "get_all_models", "validate_model_price", "train_model_price"]) {
      expect(verifySignature(deps(0n), rpc, authOf(unified)).window).toBe(600n);
    }
  });

  test("signer_address must be the signer; the block is part of what is signed", async () => {
    const [named] = cases as [Vector];
    const other = { ...authOf(named), signerAddress: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8" };
    const e = await refusal(authorize(deps(1000n), "create_model", other));
    expect(e.message).toStartWith("invalid request: bad authorization provided: the signature was made by 0x");
    expect(e.message).toEndWith('not by signer_address "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"');
    const moved = { ...authOf(named), currentBlock: 1001n };
    expect((await refusal(authorize(deps(1001n), "create_model", moved))).message).toStartWith(
      "invalid request: bad authorization provided: the signature was made by",
    );
    expect((await refusal(authorize(deps(1000n), "create_model", undefined))).message).toBe(
      "invalid request: no authorization provided",
    );
  });
});
