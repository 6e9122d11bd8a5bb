/**
 * Signer recovery through libsecp256k1 (npm `secp256k1` prebuilt N-API addon), ~10x faster than pure JS.
 *
 * The addon is loaded with a static require of its file so that `bun build --compile` embeds it in the
 * binary; when it cannot load (another platform, musl, Deno without --allow-ffi) the @noble/curves fallback is used.
 * build.ts defines SNETD_NATIVE_SECP256K1=false for other platforms' binaries: the require below is then
 * dead code the bundler drops, so no wrong-architecture addon is embedded.
 */
import { createRequire } from "node:module";
import { nobleRecovery } from "../core/noble-recovery.ts";
import { type Address, type ParsedSignature, publicKeyToAddress, type SignerRecovery } from "../core/signatures.ts";

declare const SNETD_NATIVE_SECP256K1: boolean | undefined;

interface NativeSecp256k1 {
  ecdsaRecover(output: Uint8Array, sig: Uint8Array, recid: number, msg32: Uint8Array): number;
}

function loadNative(): NativeSecp256k1 | undefined {
  if (process.platform !== "linux" || process.arch !== "x64") return undefined;
  // The `typeof` test folds to a constant at build time, which is what lets the bundler drop the require.
  if (typeof SNETD_NATIVE_SECP256K1 === "undefined" || SNETD_NATIVE_SECP256K1) {
    try {
      // A plain require of a literal path: Bun's bundler sees it and embeds the addon in the binary
      // (through createRequire it would not). Deno has no `require` in ESM, so it gets one from
      // node:module; loading the addon there needs --allow-ffi (deno.json's tasks grant it for this path).
      const addon = (
        typeof require === "function"
          ? require("../../node_modules/secp256k1/prebuilds/linux-x64/secp256k1.glibc.node")
          : createRequire(import.meta.url)("../../node_modules/secp256k1/prebuilds/linux-x64/secp256k1.glibc.node")
      ) as { Secp256k1: new () => NativeSecp256k1 };
      return new addon.Secp256k1();
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Distinct signers remembered; a paid call's signer is nearly always one seen before. */
const KNOWN_KEYS = 10_000;

function nativeRecovery(native: NativeSecp256k1): SignerRecovery {
  const output = new Uint8Array(65);
  const view = Buffer.from(output.buffer, output.byteOffset, output.byteLength);
  // The address is keccak-256 of the public key: a keccak per call (~4 µs in JS) saved by remembering
  // each key's address, keyed by the key's bytes as text.
  const addresses = new Map<string, Address>();
  return {
    name: "libsecp256k1",
    recover(digest: Uint8Array, signature: ParsedSignature): Address | undefined {
      // 0 = ok; 1 = bad signature; 2 = recovery failed.
      if (native.ecdsaRecover(output, signature.compact, signature.recovery, digest) !== 0) return undefined;
      const key = view.toString("latin1", 1);
      let address = addresses.get(key);
      if (address === undefined) {
        address = publicKeyToAddress(output);
        if (addresses.size >= KNOWN_KEYS) addresses.clear();
        addresses.set(key, address);
      }
      return address;
    },
  };
}

let chosen: SignerRecovery | undefined;

/** The fastest recovery available here; native unless `SNETD_PURE_JS_CRYPTO=1` or the addon is missing. */
export function defaultRecovery(): SignerRecovery {
  if (chosen) return chosen;
  const native = process.env.SNETD_PURE_JS_CRYPTO === "1" ? undefined : loadNative();
  chosen = native ? nativeRecovery(native) : nobleRecovery;
  return chosen;
}

export { nobleRecovery };
