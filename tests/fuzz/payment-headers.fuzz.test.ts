// Property tests of the payment metadata parser (core/payment-headers.ts, protocol/headers.md#payment-metadata) for every payment
// type: whatever a client sends, the parser returns a well-formed payment or refuses with INVALID_ARGUMENT;
// every payment a client can build is read back exactly.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { Code } from "../../src/core/errors.ts";
import { MAX_UINT256 } from "../../src/core/numbers.ts";
import { type MetadataView, parsePayment } from "../../src/core/payment-headers.ts";
import { decodeBinaryHeader, encodeBinaryHeader } from "../../src/transport/metadata.ts";
import { check, nastyBytes, nastyString, refusedWith } from "./fuzz-kit.ts";

const KEYS = [
  "snet-payment-type",
  "snet-payment-channel-id",
  "snet-payment-channel-nonce",
  "snet-payment-channel-amount",
  "snet-payment-channel-signature-bin",
  "snet-prepaid-auth-token-bin",
  "snet-free-call-user-address",
  "snet-free-call-user-id",
  "snet-current-block-number",
  "snet-free-call-auth-token-bin",
];
const TYPES = ["escrow", "prepaid-call", "free-call", "Escrow", "", "free_call", "train-call"];

/** Metadata a hostile client may send: known keys with odd values (and repeated), plus keys of its own. */
const hostileMetadata = fc
  .array(
    fc.tuple(
      fc.oneof(
        fc.constantFrom(...KEYS),
        fc.string({ maxLength: 30 }).map((k) => k.toLowerCase()),
      ),
      fc.array(fc.oneof(nastyString(), fc.constantFrom(...TYPES), nastyBytes().map(encodeBinaryHeader)), {
        minLength: 1,
        maxLength: 3,
      }),
    ),
    { maxLength: 12 },
  )
  .map((entries) => new Map(entries) as MetadataView);

const uint256 = fc.bigInt({ min: 0n, max: MAX_UINT256 });
const one = (v: string): string[] => [v];

describe("parsePayment on generated metadata", () => {
  test("returns a payment within bounds, or INVALID_ARGUMENT; never anything else", async () => {
    await check(
      fc.asyncProperty(hostileMetadata, async (md) => {
        const p = await refusedWith(Code.INVALID_ARGUMENT, () => parsePayment(md, decodeBinaryHeader));
        if (p === undefined) return;
        expect(["escrow", "prepaid-call", "free-call"]).toContain(p.type);
        if (p.type === "escrow") {
          for (const n of [p.channelId, p.nonce, p.amount]) expect(n >= 0n && n <= MAX_UINT256).toBe(true);
          // What was parsed is what was sent: the canonical decimal text of each number.
          expect(md.get("snet-payment-channel-amount")).toEqual([p.amount.toString()]);
        }
        if (p.type === "free-call") expect(p.currentBlock >= 0n).toBe(true);
      }),
      2000,
    );
  });

  test("every escrow payment a client can sign is read back exactly, with padded or unpadded base64", async () => {
    await check(
      fc.property(
        uint256,
        uint256,
        uint256,
        fc.uint8Array({ minLength: 65, maxLength: 65 }),
        fc.boolean(),
        (id, nonce, amount, sig, padded) => {
          const b64 = padded ? Buffer.from(sig).toString("base64") : encodeBinaryHeader(sig);
          const md = new Map([
            ["snet-payment-channel-id", one(id.toString())],
            ["snet-payment-channel-nonce", one(nonce.toString())],
            ["snet-payment-channel-amount", one(amount.toString())],
            ["snet-payment-channel-signature-bin", one(b64)],
          ]);
          expect(parsePayment(md, decodeBinaryHeader)).toEqual({
            type: "escrow",
            channelId: id,
            nonce,
            amount,
            signature: Uint8Array.from(sig),
          });
        },
      ),
      500,
    );
  });

  test("free-call and prepaid payments round-trip; their tokens stay opaque bytes until checked", async () => {
    await check(
      fc.property(
        uint256,
        fc.uint8Array({ maxLength: 120 }),
        fc.string({ maxLength: 40 }),
        fc.string({ maxLength: 60 }),
        (n, token, userId, address) => {
          const prepaid = new Map([
            ["snet-payment-type", one("prepaid-call")],
            ["snet-payment-channel-id", one(n.toString())],
            ["snet-prepaid-auth-token-bin", one(encodeBinaryHeader(token))],
          ]);
          const p = parsePayment(prepaid, decodeBinaryHeader);
          expect(p).toEqual({ type: "prepaid-call", channelId: n, token: new TextDecoder().decode(token) });
          const free = new Map([
            ["snet-payment-type", one("free-call")],
            ["snet-free-call-user-address", one(address)],
            ["snet-free-call-user-id", one(userId)],
            ["snet-current-block-number", one(n.toString())],
            ["snet-free-call-auth-token-bin", one(encodeBinaryHeader(token))],
            ["snet-payment-channel-signature-bin", one(encodeBinaryHeader(token))],
          ]);
          expect(parsePayment(free, decodeBinaryHeader)).toEqual({
            type: "free-call",
            dialect: "v6",
            addressText: address,
            userId,
            currentBlock: n,
            token: Uint8Array.from(token),
            signature: Uint8Array.from(token),
          });
        },
      ),
      500,
    );
  });

  test("a number beyond 2^256, a non-canonical one or a repeated header is refused with INVALID_ARGUMENT", async () => {
    const bad = fc.oneof(
      fc.bigInt({ min: MAX_UINT256 + 1n, max: 2n ** 400n }).map(String),
      uint256.map((n) => `0${n}`),
      uint256.map((n) => `+${n}`),
      uint256.map((n) => `0x${n.toString(16)}`),
      uint256.map((n) => ` ${n}`),
    );
    await check(
      fc.asyncProperty(
        fc.constantFrom("snet-payment-channel-id", "snet-payment-channel-nonce", "snet-payment-channel-amount"),
        bad,
        fc.boolean(),
        async (key, text, repeat) => {
          const md = new Map([
            ["snet-payment-channel-id", one("1")],
            ["snet-payment-channel-nonce", one("0")],
            ["snet-payment-channel-amount", one("10")],
            ["snet-payment-channel-signature-bin", one("AA")],
          ]);
          md.set(key, repeat ? ["1", "1"] : [text]);
          expect(await refusedWith(Code.INVALID_ARGUMENT, () => parsePayment(md, decodeBinaryHeader))).toBeUndefined();
        },
      ),
      500,
    );
  });
});
