// Prepaid calls without a chain (protocol/payments.md#prepaid): the bearer token, the group secret, the P/U records and
// the admission's compare-and-swap under concurrency, on the memory store. GetToken itself runs end to
// end in tests/e2e/prepaid.test.ts.
import { describe, expect, test } from "bun:test";
import { decodeJwt, decodeProtectedHeader, SignJWT, UnsecuredJWT } from "jose";
import { Code, SnetError } from "../../src/core/errors.ts";
import { hexToBytes } from "../../src/core/numbers.ts";
import type { PrepaidPayment } from "../../src/core/payment-headers.ts";
import { prepaidTokens } from "../../src/core/prepaid-token.ts";
import { type Address, prepaidTokenRequestMessage } from "../../src/core/signatures.ts";
import { nobleRecovery } from "../../src/crypto/native-recovery.ts";
import { paymentSigner } from "../../src/payments/escrow-gate.ts";
import { admitPrepaid } from "../../src/payments/prepaid.ts";
import { readUsage as prepaidUsage } from "../../src/payments/prepaid-usage.ts";
import { requestSigner } from "../../src/payments/request-auth.ts";
import { tokenSecret } from "../../src/payments/token-secret.ts";
import { memoryStore } from "../../src/store/memory.ts";
import { decodePrepaid, encodePrepaid, updateRecord } from "../../src/store/prepaid-records.ts";
import { keys as keysOf } from "../../src/store/records.ts";
import vectors from "../vectors/signatures.json" with { type: "json" };
import { refusal } from "./refusal.ts";

const SECRET = new TextEncoder().encode("a-test-secret-of-at-least-32-bytes-0123456789");
const SCOPE = { orgId: "snet-test-org", groupIdBase64: "ODOioCmgjhPWomjcr2kVYtb2u8oyDzDNCqtdjYdSOe4=" };
const USER = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266" as Address;
const PRICE = 100n;
const MPE = vectors.constants.mpe_address.toLowerCase() as Address;

const tokensAt = (now: Date, secret = SECRET, scope = SCOPE) =>
  prepaidTokens({ secret, ...scope, lifetimeMinutes: 60, now: () => now });

type Field = { name: string; value: string };
const field = (c: { fields: Field[] }, name: string) => c.fields.find((f) => f.name === name)!.value;

describe("GetToken request vectors (protocol/signatures.md#prepaid-token-request)", () => {
  for (const c of vectors.signatures.filter((v) => v.kind === "prepaid_token_request")) {
    test(`${c.id}: the outer signature recovers the client`, () => {
      const message = prepaidTokenRequestMessage(
        hexToBytes(field(c, "claim_signature")),
        BigInt(field(c, "current_block")),
      );
      expect(requestSigner(nobleRecovery, message, hexToBytes(c.signature))).toBe(
        c.signer_address.toLowerCase() as Address,
      );
    });
  }
  test("prepaid_token_request/1: its claim signature is an escrow payment for channel 5, nonce 0, amount 300", () => {
    const c = vectors.signatures.find((v) => v.id === "prepaid_token_request/1")!;
    const payment = {
      type: "escrow" as const,
      channelId: 5n,
      nonce: 0n,
      amount: 300n,
      signature: hexToBytes(field(c, "claim_signature")),
    };
    expect(paymentSigner(nobleRecovery, MPE, payment)).toBe(vectors.keys.client.address.toLowerCase() as Address);
    expect(paymentSigner(nobleRecovery, MPE, { ...payment, amount: 301n })).not.toBe(
      vectors.keys.client.address.toLowerCase() as Address,
    );
  });
});

describe("the prepaid bearer token", () => {
  const now = new Date("2030-01-01T00:00:00Z");

  test("carries the reference's claims and verifies for its channel", async () => {
    const tokens = tokensAt(now);
    const token = await tokens.issue(7n, USER);
    expect(decodeProtectedHeader(token).alg).toBe("HS256");
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({
      payload: "7",
      userAddress: "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
      orgId: SCOPE.orgId,
      groupId: SCOPE.groupIdBase64,
    });
    expect(claims.exp).toBe(Math.floor(now.getTime() / 1000) + 3600);
    expect(await tokens.verify(token, 7n)).toEqual({ user: USER });
  });

  test("is refused for another channel, after expiry, from another secret or another group", async () => {
    const token = await tokensAt(now).issue(7n, USER);
    const other = await refusal(tokensAt(now).verify(token, 8n));
    expect(other.code).toBe(Code.UNAUTHENTICATED);
    expect(other.message).toBe(
      'prepaid token is not valid: it was issued for channel "7", the call pays with channel "8"',
    );

    const later = await refusal(tokensAt(new Date(now.getTime() + 3601_000)).verify(token, 7n));
    expect(later.message).toStartWith("prepaid token is not valid: it expired at 2030-01-01T01:00:00.000Z");

    const otherSecret = new TextEncoder().encode("another-secret-of-at-least-32-bytes-long-xyz");
    expect((await refusal(tokensAt(now, otherSecret).verify(token, 7n))).message).toBe(
      "prepaid token is not valid: it was not issued by this service group",
    );

    const otherGroup = await refusal(
      tokensAt(now, SECRET, { ...SCOPE, groupIdBase64: "VPQHXwQAXRNKBm6f15OBmAZamxthW6deOLUs+gJ6uYc=" }).verify(
        token,
        7n,
      ),
    );
    expect(otherGroup.message).toContain(
      'this daemon serves "snet-test-org" group "VPQHXwQAXRNKBm6f15OBmAZamxthW6deOLUs+gJ6uYc="',
    );
  });

  test("forgeries are refused: tampered claims, alg none, garbage", async () => {
    const tokens = tokensAt(now);
    const token = await tokens.issue(7n, USER);
    const [h, , s] = token.split(".");
    const forgedBody = Buffer.from(
      JSON.stringify({ payload: "8", userAddress: USER, orgId: SCOPE.orgId, groupId: SCOPE.groupIdBase64, exp: 2e9 }),
    ).toString("base64url");
    expect((await refusal(tokens.verify(`${h}.${forgedBody}.${s}`, 8n))).code).toBe(Code.UNAUTHENTICATED);
    const none = new UnsecuredJWT({ payload: "7", userAddress: USER, orgId: SCOPE.orgId, groupId: SCOPE.groupIdBase64 })
      .setExpirationTime(2e9)
      .encode();
    expect((await refusal(tokens.verify(none, 7n))).code).toBe(Code.UNAUTHENTICATED);
    expect((await refusal(tokens.verify("not-a-token", 7n))).code).toBe(Code.UNAUTHENTICATED);
    // A well-formed HS256 token signed with the reference's public default secret.
    const publicDefault = await new SignJWT({
      payload: "7",
      userAddress: USER,
      orgId: SCOPE.orgId,
      groupId: SCOPE.groupIdBase64,
    })
      .setProtectedHeader({ alg: "HS256" })
      .setExpirationTime(2e9)
      .sign(new TextEncoder().encode("test-secret-key-at-least-32-bytes-long"));
    expect((await refusal(tokens.verify(publicDefault, 7n))).message).toBe(
      "prepaid token is not valid: it was not issued by this service group",
    );
  });

  test("a secret shorter than 32 bytes is a programming error", () => {
    expect(() => prepaidTokens({ secret: new Uint8Array(31), ...SCOPE, lifetimeMinutes: 1 })).toThrow(
      "expected at least 32",
    );
  });
});

describe("the group's token secret", () => {
  test("is generated once and shared by every replica on the store, even when they start together", async () => {
    const store = memoryStore();
    const key = keysOf("/t").secret("prepaid-token");
    const [a, b] = await Promise.all([tokenSecret(store, key, undefined), tokenSecret(store, key, undefined)]);
    expect(a.secret).toHaveLength(32);
    expect(Buffer.from(a.secret).equals(Buffer.from(b.secret))).toBe(true);
    expect([a.source, b.source].sort()).toEqual(["generated", "stored"]);
    const later = await tokenSecret(store, key, undefined);
    expect(later.source).toBe("stored");
    expect(Buffer.from(later.secret).equals(Buffer.from(a.secret))).toBe(true);
    // Another group (another key prefix) gets its own.
    const other = await tokenSecret(store, keysOf("/u").secret("prepaid-token"), undefined);
    expect(Buffer.from(other.secret).equals(Buffer.from(a.secret))).toBe(false);
  });

  test("a configured secret wins and is not stored", async () => {
    const store = memoryStore();
    const key = keysOf("/t").secret("prepaid-token");
    const s = await tokenSecret(store, key, "configured-secret-of-at-least-32-bytes!!");
    expect(s.source).toBe("configured");
    expect(new TextDecoder().decode(s.secret)).toBe("configured-secret-of-at-least-32-bytes!!");
    expect(await store.get(key)).toBeUndefined();
  });
});

describe("prepaid admission (U += price iff U + price ≤ P)", () => {
  const keys = keysOf("/t");
  const now = new Date();
  const tokens = tokensAt(now);
  const deps = (store = memoryStore()) => ({ store, keys, tokens, price: () => PRICE });
  const payment = async (channelId: bigint, token?: string): Promise<PrepaidPayment> => ({
    type: "prepaid-call",
    channelId,
    token: token ?? (await tokens.issue(channelId, USER)),
  });
  const plan = (d: ReturnType<typeof deps>, id: bigint, planned: bigint, used = 0n) =>
    d.store.commit({
      compare: [],
      then: [{ op: "put", key: keys.prepaid(id), value: encodePrepaid({ planned, used }) }],
    });

  test("60 concurrent calls on a 50-call plan: exactly 50 admitted, the rest refused, U exact", async () => {
    const d = deps();
    await plan(d, 1n, 50n * PRICE);
    const p = await payment(1n);
    const results = await Promise.allSettled(
      Array.from({ length: 60 }, () => admitPrepaid(d, "/example.Echo/Echo", p)),
    );
    const admitted = results.filter((r) => r.status === "fulfilled");
    expect(admitted).toHaveLength(50);
    for (const r of results) {
      if (r.status === "rejected") {
        expect(r.reason).toBeInstanceOf(SnetError);
        expect((r.reason as SnetError).code).toBe(Code.INTERNAL);
        expect((r.reason as SnetError).message).toBe("internal error: Usage Exceeded on channel Id 1");
      }
    }
    expect((await prepaidUsage(d, 1n)).usage).toEqual({ planned: 50n * PRICE, used: 50n * PRICE });
    const first = admitted[0];
    if (first?.status !== "fulfilled") throw new Error("unreachable");
    expect(first.value.setHeaders).toEqual({ "snet-user-address": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266" });
  });

  test("a failed service call gives its price back; a successful one keeps it", async () => {
    const d = deps();
    await plan(d, 2n, 2n * PRICE);
    const p = await payment(2n);
    const a = await admitPrepaid(d, "/x/y", p);
    const b = await admitPrepaid(d, "/x/y", p);
    expect((await refusal(admitPrepaid(d, "/x/y", p))).message).toBe("internal error: Usage Exceeded on channel Id 2");
    expect(await a.settle(false)).toBeUndefined();
    expect(await b.settle(true)).toBeUndefined();
    expect((await prepaidUsage(d, 2n)).usage).toEqual({ planned: 2n * PRICE, used: PRICE });
    await admitPrepaid(d, "/x/y", p);
    expect((await prepaidUsage(d, 2n)).usage.used).toBe(2n * PRICE);
  });

  test("nothing planned, or a token for another channel, admits nothing", async () => {
    const d = deps();
    expect((await refusal(admitPrepaid(d, "/x/y", await payment(3n)))).message).toBe(
      "internal error: Usage Exceeded on channel Id 3",
    );
    await plan(d, 4n, 10n * PRICE);
    const wrong = await refusal(admitPrepaid(d, "/x/y", await payment(4n, await tokens.issue(3n, USER))));
    expect(wrong.code).toBe(Code.UNAUTHENTICATED);
    expect((await prepaidUsage(d, 4n)).usage.used).toBe(0n);
  });
});

describe("records", () => {
  test("prepaid usage round-trips and refuses unknown encodings", () => {
    const u = { planned: 2n ** 70n, used: 5n };
    expect(decodePrepaid(encodePrepaid(u))).toEqual(u);
    expect(() => decodePrepaid('{"v":2,"planned":"1","used":"0"}')).toThrow("encoding version 2");
  });

  test("updateRecord loses no update when 100 writers race on one key", async () => {
    const store = memoryStore();
    await Promise.all(
      Array.from({ length: 100 }, () =>
        updateRecord(store, "/k", decodePrepaid, encodePrepaid, (u = { planned: 0n, used: 0n }) => ({
          next: { ...u, used: u.used + 1n },
          result: undefined,
        })),
      ),
    );
    expect(decodePrepaid((await store.get("/k"))!.value).used).toBe(100n);
  });
});
