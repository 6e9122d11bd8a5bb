// v5 free calls of the JavaScript SDKs beside v6 (docs/protocol/payments.md): the headers and the
// GetFreeCallsAvailable bytes tell the dialects apart, a v5 token verifies against the group's free-call
// signer or a trusted signer, and both dialects draw on one quota per caller and user id.
import { describe, expect, test } from "bun:test";
import { create, toBinary } from "@bufbuild/protobuf";
import type { BlockSource } from "../../src/chain/mpe.ts";
import { Code } from "../../src/core/errors.ts";
import { signDigest } from "../../src/core/noble-recovery.ts";
import { hexToBytes } from "../../src/core/numbers.ts";
import { type FreeCallV5, parsePayment } from "../../src/core/payment-headers.ts";
import {
  type Address,
  freeCallV5InvocationMessage,
  freeCallV5TokenMessage,
  personalDigest,
} from "../../src/core/signatures.ts";
import { nobleRecovery } from "../../src/crypto/native-recovery.ts";
import { FreeCallStateRequestSchema as V5Request } from "../../src/gen/free_call_v5_pb.ts";
import { FreeCallStateRequestSchema as V6Request } from "../../src/gen/state_service_pb.ts";
import { admitFreeCall, type FreeCallDeps, freeCallsAvailable, verifyFreeCall } from "../../src/payments/free-calls.ts";
import { memoryStore } from "../../src/store/memory.ts";
import { keys as keysOf } from "../../src/store/records.ts";
import { freeCallStateDialect } from "../../src/transport/services/free-call-state.ts";
import vectors from "../vectors/signatures.json" with { type: "json" };
import { refusal } from "./refusal.ts";

const ORG = "snet-test-org";
const SERVICE = "example-service";
const GROUP_B64 = "ODOioCmgjhPWomjcr2kVYtb2u8oyDzDNCqtdjYdSOe4=";
const SIGNER_KEY = hexToBytes(vectors.keys.free_call_signer.private_key);
const SIGNER = vectors.keys.free_call_signer.address.toLowerCase() as Address;
const CLIENT_KEY = hexToBytes(vectors.keys.client.private_key);
const CLIENT = vectors.keys.client.address.toLowerCase() as Address;
const TRUSTED_KEY = hexToBytes(vectors.keys.provider.private_key);
const TRUSTED = vectors.keys.provider.address.toLowerCase() as Address;
const EMAIL = "user@example.com";

const blocksAt = (head: bigint): BlockSource => ({ head: async () => head, stop() {} });

function deps(over: Partial<FreeCallDeps> = {}): FreeCallDeps {
  return {
    store: memoryStore(),
    keys: keysOf("/v5"),
    blocks: blocksAt(1002n),
    recovery: nobleRecovery,
    orgId: ORG,
    serviceId: SERVICE,
    groupName: "default_group",
    groupIdBase64: GROUP_B64,
    signer: { privateKey: SIGNER_KEY, address: SIGNER },
    trustedSigners: new Set([TRUSTED]),
    defaultQuota: 2n,
    perAddress: {},
    minBalance: 0n,
    minBalanceText: "0",
    ...over,
  };
}

/** What the JavaScript SDKs send: a marketplace token for (e-mail, caller, expiry) and the caller's signature. */
function v5Call(
  o: { tokenKey?: Uint8Array; user?: Address; userId?: string; block?: bigint; expiry?: bigint } = {},
): FreeCallV5 {
  const userId = o.userId ?? EMAIL;
  const expiryBlock = o.expiry ?? 5000n;
  const currentBlock = o.block ?? 1002n;
  const token = signDigest(
    o.tokenKey ?? SIGNER_KEY,
    personalDigest(freeCallV5TokenMessage(userId, o.user ?? CLIENT, expiryBlock)),
  );
  const message = freeCallV5InvocationMessage(
    { userId, orgId: ORG, serviceId: SERVICE, groupIdBase64: GROUP_B64, currentBlock },
    token,
  );
  return {
    type: "free-call",
    dialect: "v5",
    userId,
    expiryBlock,
    currentBlock,
    token,
    signature: signDigest(CLIENT_KEY, personalDigest(message)),
  };
}

const md = (entries: Record<string, string>) => new Map(Object.entries(entries).map(([k, v]) => [k, [v]]));
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");
const decode = (v: string) => Uint8Array.from(Buffer.from(v, "base64"));

describe("telling v5 from v6", () => {
  const base = {
    "snet-payment-type": "free-call",
    "snet-current-block-number": "1002",
    "snet-free-call-auth-token-bin": b64(new Uint8Array(65)),
    "snet-payment-channel-signature-bin": b64(new Uint8Array(65)),
  };

  test("headers: an expiry block without a user address is v5, with the e-mail as user id", () => {
    const p = parsePayment(
      md({ ...base, "snet-free-call-user-id": EMAIL, "snet-free-call-token-expiry-block": "5000" }),
      decode,
    );
    expect(p).toMatchObject({
      type: "free-call",
      dialect: "v5",
      userId: EMAIL,
      expiryBlock: 5000n,
      currentBlock: 1002n,
    });
  });

  test("headers: a user address always means v6, whatever v5-only headers come with it", () => {
    const p = parsePayment(
      md({ ...base, "snet-free-call-user-address": CLIENT, "snet-free-call-token-expiry-block": "5000" }),
      decode,
    );
    expect(p).toMatchObject({ dialect: "v6", addressText: CLIENT, userId: "" });
  });

  test("headers: neither is the v6 error naming the missing address; a v5 call needs its e-mail", async () => {
    expect(() => parsePayment(md(base), decode)).toThrow('missing "snet-free-call-user-address"');
    expect(() => parsePayment(md({ ...base, "snet-free-call-token-expiry-block": "5000" }), decode)).toThrow(
      'missing "snet-free-call-user-id"',
    );
    expect(() =>
      parsePayment(
        md({ ...base, "snet-free-call-user-id": EMAIL, "snet-free-call-token-expiry-block": "0x10" }),
        decode,
      ),
    ).toThrow('incorrect format "snet-free-call-token-expiry-block": "0x10"');
  });

  test("GetFreeCallsAvailable bytes: field 3 as a varint is v5, as bytes (or absent, or garbage) v6", () => {
    const v5 = toBinary(
      V5Request,
      create(V5Request, {
        userId: EMAIL,
        tokenForFreeCall: new Uint8Array(65),
        tokenExpiryDateBlock: 10000n,
        currentBlock: 9n,
      }),
    );
    const v6 = toBinary(
      V6Request,
      create(V6Request, { address: CLIENT, freeCallToken: new Uint8Array(70), currentBlock: 9n }),
    );
    expect(freeCallStateDialect(v5)).toBe("v5");
    expect(freeCallStateDialect(v6)).toBe("v6");
    expect(freeCallStateDialect(toBinary(V6Request, create(V6Request, { address: CLIENT })))).toBe("v6");
    expect(freeCallStateDialect(Uint8Array.of(0xff, 0xff, 0xff))).toBe("v6");
  });
});

describe("v5 verification", () => {
  test("a token of the group's free-call signer, or of a trusted signer, names the caller", async () => {
    expect(await verifyFreeCall(deps(), v5Call())).toBe(CLIENT);
    expect(await verifyFreeCall(deps(), v5Call({ tokenKey: TRUSTED_KEY }))).toBe(CLIENT);
  });

  test("a token for someone else, another e-mail or from an unknown key is refused", async () => {
    const forged = "token sign is not valid";
    expect((await refusal(verifyFreeCall(deps(), v5Call({ user: TRUSTED })))).message).toBe(forged);
    expect(
      (await refusal(verifyFreeCall(deps({ trustedSigners: new Set() }), v5Call({ tokenKey: TRUSTED_KEY })))).message,
    ).toBe(forged);
    const call = v5Call();
    expect((await refusal(verifyFreeCall(deps(), { ...call, userId: "other@example.com" }))).message).toBe(forged);
  });

  test("an expired token and a stale block get the reference's texts", async () => {
    const expired = await refusal(verifyFreeCall(deps({ blocks: blocksAt(6000n) }), v5Call({ expiry: 5999n })));
    expect(expired.code).toBe(Code.UNAUTHENTICATED);
    expect(expired.message).toBe("authentication failed as the Free Call Token passed has expired");
    expect((await refusal(verifyFreeCall(deps(), v5Call({ block: 990n })))).message).toBe(
      "authentication failed as the signature passed has expired",
    );
  });

  test("free calls off: refused before any signature is looked at", async () => {
    const off = await refusal(
      verifyFreeCall(deps({ signer: { off: "private_key_for_free_calls is not set" } }), v5Call()),
    );
    expect(off.message).toBe("free calls are not enabled on this daemon: private_key_for_free_calls is not set");
  });
});

describe("one quota per caller and user id", () => {
  test("v5 calls use the quota GetFreeCallsAvailable reports, then are refused; a failed call gives its use back", async () => {
    const d = deps();
    expect(await freeCallsAvailable(d, v5Call())).toBe(2n);
    const first = await admitFreeCall(d, "/svc/M", v5Call());
    expect(first.setHeaders["snet-user-address"]).toBe(vectors.keys.client.address);
    await first.settle(true);
    const failed = await admitFreeCall(d, "/svc/M", v5Call());
    await failed.settle(false);
    expect(await freeCallsAvailable(d, v5Call())).toBe(1n);
    await (await admitFreeCall(d, "/svc/M", v5Call())).settle(true);
    const over = await refusal(admitFreeCall(d, "/svc/M", v5Call()));
    expect(over.message).toBe(
      "internal error: free call limit has been exceeded, calls made = 2, total free calls eligible = 2",
    );
    expect(await freeCallsAvailable(d, v5Call())).toBe(0n);
    // Another e-mail of the same caller is another user.
    expect(await freeCallsAvailable(d, v5Call({ userId: "second@example.com" }))).toBe(2n);
  });
});
