// Free calls without a chain (protocol/payments.md#free-calls): token bytes against the vectors,
// the verification order, quotas keyed by the 20-byte address, and reservations under concurrency on
// the memory store. The RPCs run end to end in tests/e2e/free-calls.test.ts.
import { describe, expect, test } from "bun:test";
import type { BlockSource } from "../../src/chain/mpe.ts";
import { Code, SnetError } from "../../src/core/errors.ts";
import {
  allowedCalls,
  availableCalls,
  parseFreeCallToken,
  signFreeCallToken,
  UNLIMITED_REPORTED,
} from "../../src/core/free-call-token.ts";
import { signDigest } from "../../src/core/noble-recovery.ts";
import { bytesToHex, hexToBytes } from "../../src/core/numbers.ts";
import type { FreeCallPayment, FreeCallV6 } from "../../src/core/payment-headers.ts";
import {
  type Address,
  freeCallInvocationMessage,
  freeCallTokenMessage,
  personalDigest,
  recoverSigner,
} from "../../src/core/signatures.ts";
import { nobleRecovery } from "../../src/crypto/native-recovery.ts";
import { admitFreeCall, type FreeCallDeps, verifyFreeCall } from "../../src/payments/free-calls.ts";
import { memoryStore } from "../../src/store/memory.ts";
import { decodeFreeCall, freeCallUserKey } from "../../src/store/prepaid-records.ts";
import { keys as keysOf } from "../../src/store/records.ts";
import vectors from "../vectors/signatures.json" with { type: "json" };
import { refusal } from "./refusal.ts";

type Field = { name: string; value: string };
type Case = (typeof vectors.signatures)[number];
const field = (c: Case, name: string) => (c.fields as Field[]).find((f) => f.name === name)!.value;
const byId = (id: string) => vectors.signatures.find((v) => v.id === id)!;

const ORG = "snet-test-org";
const SERVICE = "example-service";
const GROUP_NAME = "default_group";
const GROUP_B64 = "ODOioCmgjhPWomjcr2kVYtb2u8oyDzDNCqtdjYdSOe4=";
const SIGNER_KEY = hexToBytes(vectors.keys.free_call_signer.private_key);
const SIGNER = vectors.keys.free_call_signer.address.toLowerCase() as Address;
const CLIENT_KEY = hexToBytes(vectors.keys.client.private_key);
const CLIENT_TEXT = vectors.keys.client.address; // EIP-55, as the Python SDK sends it
const CLIENT = CLIENT_TEXT.toLowerCase() as Address;
const MARKETPLACE_KEY = hexToBytes(vectors.keys.provider.private_key);
const MARKETPLACE = vectors.keys.provider.address.toLowerCase() as Address;

const blocksAt = (head: bigint): BlockSource => ({ head: async () => head, stop() {} });

function deps(over: Partial<FreeCallDeps> = {}): FreeCallDeps {
  return {
    store: memoryStore(),
    keys: keysOf("/t"),
    blocks: blocksAt(1002n),
    recovery: nobleRecovery,
    orgId: ORG,
    serviceId: SERVICE,
    groupName: GROUP_NAME,
    groupIdBase64: GROUP_B64,
    signer: { privateKey: SIGNER_KEY, address: SIGNER },
    trustedSigners: new Set([MARKETPLACE]),
    defaultQuota: 3n,
    perAddress: {},
    minBalance: 0n,
    minBalanceText: "0",
    ...over,
  };
}

/** What a client sends on a free call: the token it got and its signature over 3.8. */
function freeCall(
  o: { key?: Uint8Array; addressText?: string; user?: Address; userId?: string; block?: bigint; expiry?: bigint } = {},
): FreeCallPayment {
  const addressText = o.addressText ?? CLIENT_TEXT;
  const userId = o.userId ?? "";
  const block = o.block ?? 1002n;
  const token = signFreeCallToken(SIGNER_KEY, {
    orgId: ORG,
    groupName: GROUP_NAME,
    user: o.user ?? (addressText.toLowerCase() as Address),
    userId,
    expiryBlock: o.expiry ?? 173800n,
  });
  const message = freeCallInvocationMessage(
    { addressText, userId, orgId: ORG, serviceId: SERVICE, groupIdBase64: GROUP_B64, currentBlock: block },
    token,
  );
  return {
    type: "free-call",
    dialect: "v6",
    addressText,
    userId,
    currentBlock: block,
    token,
    signature: signDigest(o.key ?? CLIENT_KEY, personalDigest(message)),
  };
}

describe("free-call token bytes (protocol/signatures.md#free-call-token, vectors)", () => {
  for (const id of ["free_call_token/1", "free_call_token/2"]) {
    test(`${id}: the daemon's token is byte for byte the vector's, and parses back`, () => {
      const c = byId(id) as Case & { token_hex: string; token_v01_hex: string };
      const expiryBlock = BigInt(field(c, "expiration_block"));
      const token = signFreeCallToken(SIGNER_KEY, {
        orgId: field(c, "organization_id"),
        groupName: field(c, "daemon_group_name"),
        user: field(c, "user_address").toLowerCase() as Address,
        userId: field(c, "user_id"),
        expiryBlock,
      });
      expect(bytesToHex(token)).toBe(c.token_hex);
      // The reference emits v = 0/1; both forms parse and verify.
      for (const form of [c.token_hex, c.token_v01_hex]) {
        const parsed = parseFreeCallToken(hexToBytes(form));
        expect(parsed.expiryBlock).toBe(expiryBlock);
        const message = freeCallTokenMessage(
          field(c, "organization_id"),
          field(c, "daemon_group_name"),
          field(c, "user_address"),
          field(c, "user_id"),
          expiryBlock,
        );
        expect(recoverSigner(nobleRecovery, message, parsed.signature)).toBe(SIGNER);
      }
    });
  }

  test("malformed tokens are INVALID_ARGUMENT with the catalogue's prefix", () => {
    const good = hexToBytes(byId("free_call_token/1").token_hex!);
    const cases: [Uint8Array, string][] = [
      [good.subarray(0, 65), 'invalid token: expected signature_block, got 65 bytes without "_"'],
      [
        new Uint8Array([...good.subarray(0, 66), 0x30, 0x31]),
        'invalid token: expiry block "01" is not a decimal number',
      ],
      [good.subarray(1), "invalid token: signature is 64 bytes long, expected 65"],
    ];
    for (const [token, message] of cases) {
      let caught: unknown;
      try {
        parseFreeCallToken(token);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(SnetError);
      expect((caught as SnetError).code).toBe(Code.INVALID_ARGUMENT);
      expect((caught as SnetError).message).toBe(message);
    }
  });
});

describe("free-call verification (protocol/signatures.md#free-call-invocation order)", () => {
  test("free_call_invocation/1 verifies at head 1002 and names the client", async () => {
    const c = byId("free_call_invocation/1");
    const payment = {
      dialect: "v6" as const,
      addressText: field(c, "address_text"),
      userId: field(c, "user_id"),
      currentBlock: BigInt(field(c, "current_block")),
      token: hexToBytes(field(c, "free_call_token")),
      signature: hexToBytes(c.signature),
    };
    expect(await verifyFreeCall(deps(), payment)).toBe(CLIENT);
  });

  test("each check refuses with its own message, in order", async () => {
    const d = deps();
    // Signed by another key than the address claims.
    const wrongUser = await refusal(verifyFreeCall(d, freeCall({ key: MARKETPLACE_KEY })));
    expect(wrongUser.code).toBe(Code.UNAUTHENTICATED);
    expect(wrongUser.message).toBe(
      `sign is not valid: invalid signer, ${CLIENT_TEXT} (from request) is not equal to ${vectors.keys.provider.address} (signer)`,
    );
    // A token issued to somebody else, or by another key than the group's free-call signer.
    expect((await refusal(verifyFreeCall(d, freeCall({ user: MARKETPLACE })))).message).toBe("token sign is not valid");
    const otherSigner = deps({ signer: { privateKey: MARKETPLACE_KEY, address: MARKETPLACE } });
    expect((await refusal(verifyFreeCall(otherSigner, freeCall()))).message).toBe("token sign is not valid");
    // Expired token: reported before the (also stale) block window.
    const expired = await refusal(verifyFreeCall(deps({ blocks: blocksAt(2000n) }), freeCall({ expiry: 1999n })));
    expect(expired.code).toBe(Code.UNAUTHENTICATED);
    expect(expired.message).toBe("authentication failed as the Free Call Token passed has expired");
    expect((await refusal(verifyFreeCall(d, freeCall({ block: 1008n })))).message).toBe(
      "authentication failed as the signature passed has expired",
    );
    // Free calls off: said before anything else.
    const off = await refusal(
      verifyFreeCall(deps({ signer: { off: "private_key_for_free_calls is not set" } }), freeCall()),
    );
    expect(off.code).toBe(Code.FAILED_PRECONDITION);
    expect(off.message).toBe("free calls are not enabled on this daemon: private_key_for_free_calls is not set");
  });

  test("the address text is what is signed: a re-cased address verifies when signed as sent", async () => {
    expect(await verifyFreeCall(deps(), freeCall({ addressText: CLIENT }))).toBe(CLIENT);
    // The same signature with the text re-cased no longer matches.
    const p = freeCall() as FreeCallV6;
    expect((await refusal(verifyFreeCall(deps(), { ...p, addressText: CLIENT }))).message).toStartWith(
      "sign is not valid",
    );
  });
});

describe("quotas", () => {
  test("free_calls_per_address overrides the metadata (any case), 0 falls back, -1 is unlimited", () => {
    const per = { [CLIENT]: 5, [MARKETPLACE]: -1, "0x0000000000000000000000000000000000000001": 0 };
    expect(allowedCalls(per, 3n, CLIENT_TEXT)).toBe(5n);
    expect(allowedCalls(per, 3n, MARKETPLACE)).toBeUndefined();
    expect(allowedCalls(per, 3n, "0x0000000000000000000000000000000000000001")).toBe(3n);
    expect(allowedCalls(per, 3n, "0x0000000000000000000000000000000000000002")).toBe(3n);
    expect(availableCalls(undefined, 10n)).toBe(UNLIMITED_REPORTED);
    expect(availableCalls(3n, 5n)).toBe(0n);
  });

  test("10 concurrent calls on a quota of 3: exactly 3 admitted; a failed call gives its use back", async () => {
    const d = deps();
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => admitFreeCall(d, "/x/y", freeCall())));
    const admitted = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    expect(admitted).toHaveLength(3);
    for (const r of results) {
      if (r.status === "rejected")
        expect((r.reason as SnetError).message).toBe(
          "internal error: free call limit has been exceeded, calls made = 3, total free calls eligible = 3",
        );
    }
    expect(admitted[0]!.setHeaders).toEqual({ "snet-user-address": CLIENT_TEXT });
    const key = d.keys.freeCall(freeCallUserKey(SERVICE, CLIENT, ""));
    expect(decodeFreeCall((await d.store.get(key))!.value)).toEqual({
      address: CLIENT,
      userId: "",
      serviceId: SERVICE,
      made: 3n,
    });
    await admitted[0]!.settle(false);
    await admitted[1]!.settle(true);
    expect(decodeFreeCall((await d.store.get(key))!.value).made).toBe(2n);
    // The use given back is usable again, also under another spelling of the same address.
    await admitFreeCall(d, "/x/y", freeCall({ addressText: CLIENT }));
    expect((await refusal(admitFreeCall(d, "/x/y", freeCall({ addressText: CLIENT })))).code).toBe(Code.INTERNAL);
  });

  test("a trusted signer's users each have their own quota", async () => {
    const d = deps({ defaultQuota: 1n });
    const asUser = (userId: string) =>
      freeCall({ key: MARKETPLACE_KEY, addressText: vectors.keys.provider.address, userId });
    await admitFreeCall(d, "/x/y", asUser("alice@example.com"));
    await admitFreeCall(d, "/x/y", asUser("bob@example.com"));
    expect((await refusal(admitFreeCall(d, "/x/y", asUser("alice@example.com")))).code).toBe(Code.INTERNAL);
    const entries = await d.store.list(d.keys.freeCalls);
    expect(entries.map((e) => decodeFreeCall(e.value).userId).sort()).toEqual(["alice@example.com", "bob@example.com"]);
  });

  test("min_balance_for_free_call: a poor untrusted caller gets nothing, a trusted one is exempt", async () => {
    const balances = new Map<Address, bigint>([[CLIENT, 5n]]);
    const d = deps({ minBalance: 10n, minBalanceText: "10", balanceOf: async (a) => balances.get(a) ?? 0n });
    const poor = await refusal(admitFreeCall(d, "/x/y", freeCall()));
    expect(poor.code).toBe(Code.PERMISSION_DENIED);
    expect(poor.message).toBe("you must have at least 10 FET (ASI) in your balance to use free calls");
    await admitFreeCall(
      d,
      "/x/y",
      freeCall({ key: MARKETPLACE_KEY, addressText: vectors.keys.provider.address, userId: "u" }),
    );
    balances.set(CLIENT, 10n);
    await admitFreeCall(d, "/x/y", freeCall());
  });
});
