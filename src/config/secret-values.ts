/**
 * Value checks of the keys that hold secrets: private keys (in the secp256k1 range), the prepaid token
 * secret (long enough, and never the reference's public example) and bearer tokens (long enough to be
 * unguessable). The shared vocabulary (`Check`, `ok`, `bad`) is values.ts.
 */
import { bad, type Check, type Hex, kindOf, ok, optional } from "./values.ts";

const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
export const asPrivateKey: Check<Hex> = (value) => {
  const expected = "64 hex digits (0x prefix optional; quote it in YAML) of a secp256k1 private key";
  if (typeof value !== "string" || !/^(0x)?[0-9a-fA-F]{64}$/.test(value.trim())) {
    return bad("is not a private key", expected);
  }
  const hex = value.trim().replace(/^0x/, "").toLowerCase();
  const k = BigInt(`0x${hex}`);
  return k === 0n || k >= SECP256K1_N ? bad("is outside the secp256k1 key range", expected) : ok(`0x${hex}` as Hex);
};

/**
 * The reference's built-in secret: public, so anyone could forge
 * prepaid tokens with it (protocol/reference-differences.md#d12).
 */
export const PUBLIC_TOKEN_SECRET = "test-secret-key-at-least-32-bytes-long";
export const asTokenSecret: Check<string | undefined> = optional((value) => {
  if (typeof value !== "string") return bad(`is ${kindOf(value)}`, "text of at least 32 bytes");
  if (value === PUBLIC_TOKEN_SECRET) {
    return bad(
      "is the public example secret of the reference daemon, so anyone could forge prepaid tokens",
      "a random value of at least 32 bytes (e.g. `openssl rand -hex 32`), or leave it empty and snetd generates one",
      undefined,
      value,
    );
  }
  const bytes = new TextEncoder().encode(value).length;
  return bytes < 32 ? bad(`is ${bytes} bytes long`, "at least 32 bytes of random text") : ok(value);
});

/** A shared secret sent as a bearer token: long enough that guessing it over the network is hopeless. */
export const asBearerToken: Check<string | undefined> = optional((value) => {
  if (typeof value !== "string") return bad(`is ${kindOf(value)}`, "text of at least 16 bytes");
  const bytes = new TextEncoder().encode(value).length;
  return bytes < 16
    ? bad(`is ${bytes} bytes long`, "at least 16 bytes of random text (e.g. `openssl rand -hex 24`)")
    : ok(value);
});
