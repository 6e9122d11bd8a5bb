// Property tests of the two tokens a client hands back: the free-call token (core/free-call-token.ts,
// signature ‖ "_" ‖ expiry) and the prepaid JWT (core/prepaid-token.ts). Garbage and tampered tokens are
// refused with the catalogue's codes (INVALID_ARGUMENT for a malformed free-call token, UNAUTHENTICATED
// for a prepaid token that does not verify); nothing else escapes, and genuine tokens round-trip.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { Code } from "../../src/core/errors.ts";
import { encodeFreeCallToken, parseFreeCallToken } from "../../src/core/free-call-token.ts";
import { prepaidTokens } from "../../src/core/prepaid-token.ts";
import type { Address } from "../../src/core/signatures.ts";
import { check, nastyBytes, nastyString, refusedWith } from "./fuzz-kit.ts";

const SECRET = new Uint8Array(32).fill(7);
const USER = "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc" as Address;
const scope = { orgId: "snet-test-org", groupIdBase64: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" };
const tokens = prepaidTokens({ secret: SECRET, ...scope, lifetimeMinutes: 60 });

describe("free-call tokens", () => {
  test("any bytes parse to a 65-byte signature and a block, or are refused with INVALID_ARGUMENT", async () => {
    const bytes = fc.oneof(
      nastyBytes(),
      fc.tuple(nastyBytes(), nastyString()).map(([sig, tail]) => Buffer.concat([sig, Buffer.from(`_${tail}`)])),
    );
    await check(
      fc.asyncProperty(bytes, async (token) => {
        const parsed = await refusedWith(Code.INVALID_ARGUMENT, () => parseFreeCallToken(token));
        if (parsed === undefined) return;
        expect(parsed.signature.length).toBe(65);
        expect(parsed.expiryBlock >= 0n).toBe(true);
      }),
      3000,
    );
  });

  test("a token the daemon issues is read back exactly, whatever bytes its signature holds (0x5f included)", async () => {
    await check(
      fc.property(
        fc.uint8Array({ minLength: 65, maxLength: 65 }),
        fc.bigInt({ min: 0n, max: 2n ** 256n - 1n }),
        (sig, expiry) => {
          expect(parseFreeCallToken(encodeFreeCallToken(sig, expiry))).toEqual({
            signature: Uint8Array.from(sig),
            expiryBlock: expiry,
          });
        },
      ),
      1000,
    );
  });
});

describe("prepaid tokens", () => {
  test("garbage text is refused with UNAUTHENTICATED", async () => {
    const jwtLike = fc
      .tuple(
        fc.base64String({ maxLength: 60 }),
        fc.base64String({ maxLength: 200 }),
        fc.base64String({ maxLength: 60 }),
      )
      .map((parts) => parts.map((p) => p.replace(/=/g, "").replace(/\+/g, "-").replace(/\//g, "_")).join("."));
    await check(
      fc.asyncProperty(
        fc.oneof(nastyString(), jwtLike),
        fc.bigInt({ min: 0n, max: 2n ** 256n - 1n }),
        async (token, channel) => {
          expect(await refusedWith(Code.UNAUTHENTICATED, () => tokens.verify(token, channel))).toBeUndefined();
        },
      ),
      1000,
    );
  });

  test("a tampered token is refused, unless the change only touched bits base64url does not carry", async () => {
    const token = await tokens.issue(42n, USER);
    await check(
      fc.asyncProperty(
        fc.nat({ max: token.length - 1 }),
        fc.constantFrom(..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=".split("")),
        async (at, c) => {
          const tampered = token.slice(0, at) + c + token.slice(at + 1);
          const result = await refusedWith(Code.UNAUTHENTICATED, () => tokens.verify(tampered, 42n));
          // jose decodes base64url leniently in the last character's unused bits: those tokens still carry
          // the very bytes that were signed, so they must verify to the same user.
          if (result !== undefined) expect(result).toEqual({ user: USER });
        },
      ),
      1000,
    );
  });

  test("a genuine token is refused for any other channel, and by a daemon with another secret", async () => {
    const other = prepaidTokens({ secret: new Uint8Array(32).fill(8), ...scope, lifetimeMinutes: 60 });
    await check(
      fc.asyncProperty(
        fc.bigInt({ min: 0n, max: 2n ** 64n }),
        fc.bigInt({ min: 0n, max: 2n ** 64n }),
        async (issued, used) => {
          const token = await tokens.issue(issued, USER);
          if (issued === used) expect(await tokens.verify(token, used)).toEqual({ user: USER });
          else expect(await refusedWith(Code.UNAUTHENTICATED, () => tokens.verify(token, used))).toBeUndefined();
          expect(await refusedWith(Code.UNAUTHENTICATED, () => other.verify(token, issued))).toBeUndefined();
        },
      ),
      200,
    );
  });
});
