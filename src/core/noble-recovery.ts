/** Pure-JS signer recovery with @noble/curves: the fallback when the native binding is absent. */
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { concatBytes } from "./numbers.ts";
import { type Address, type ParsedSignature, publicKeyToAddress, type SignerRecovery } from "./signatures.ts";

export const nobleRecovery: SignerRecovery = {
  name: "noble",
  recover(digest: Uint8Array, signature: ParsedSignature): Address | undefined {
    try {
      const recovered = concatBytes(Uint8Array.of(signature.recovery), signature.compact);
      const pub = secp256k1.recoverPublicKey(recovered, digest, { prehash: false });
      const point = secp256k1.Point.fromBytes(pub);
      return publicKeyToAddress(point.toBytes(false));
    } catch {
      return undefined;
    }
  },
};

/** Signs a 32-byte digest; returns r ‖ s ‖ v with v = 27/28 (what clients and the contract expect). */
export function signDigest(privateKey: Uint8Array, digest: Uint8Array): Uint8Array {
  const sig = secp256k1.sign(digest, privateKey, { prehash: false, format: "recovered" });
  // "recovered" puts the recovery byte first.
  return concatBytes(sig.subarray(1), Uint8Array.of((sig[0] as number) + 27));
}

/** The address a private key signs as (the key never leaves memory). */
export function addressOfPrivateKey(privateKey: Uint8Array): Address {
  return publicKeyToAddress(secp256k1.getPublicKey(privateKey, false));
}
