// The pure core of escrow payments: wire numbers (protocol/headers.md#numbers), payment metadata
// (protocol/headers.md#payment-metadata, protocol/errors.md#payment-refusals),
// the stored/chain merge (protocol/payments.md#reading-a-channel) and the validation order
// (protocol/payments.md#escrow-order steps 6–10).
import { describe, expect, test } from "bun:test";
import {
  type ChainChannel,
  type ChannelState,
  fromChain,
  isUnknownOnChain,
  mergeWithChain,
} from "../../src/core/channel.ts";
import { Code, SnetError } from "../../src/core/errors.ts";
import { chainMayKnowBetter, checkEscrow, type EscrowCheck, type EscrowFailure } from "../../src/core/escrow.ts";
import {
  bigintToBytes,
  bigintToMinimalBytes,
  bytesEqual,
  bytesToBigint,
  bytesToHex,
  concatBytes,
  hexToBytes,
  MAX_UINT256,
  parseDecimal,
} from "../../src/core/numbers.ts";
import { type EscrowPayment, type MetadataView, parsePayment } from "../../src/core/payment-headers.ts";
import type { Address } from "../../src/core/signatures.ts";

/** Runs `fn` and returns the SnetError it throws (fails the test if it throws nothing or something else). */
function snetErrorOf(fn: () => unknown): SnetError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SnetError);
    return err as SnetError;
  }
  throw new Error("expected a SnetError, nothing was thrown");
}

describe("numbers", () => {
  test("canonical decimals parse, up to 2^256 - 1", () => {
    expect(parseDecimal("0")).toBe(0n);
    expect(parseDecimal("1")).toBe(1n);
    expect(parseDecimal("100")).toBe(100n);
    expect(parseDecimal(MAX_UINT256.toString())).toBe(MAX_UINT256);
  });

  test("everything else is refused rather than guessed", () => {
    const refused = [
      "",
      "01",
      "00",
      "-1",
      "+1",
      "0x10",
      "0o7",
      "0b1",
      "1_000",
      " 1",
      "1 ",
      "1.0",
      "1e3",
      "١",
      (MAX_UINT256 + 1n).toString(),
      "9".repeat(79),
    ];
    for (const text of refused) expect([text, parseDecimal(text)]).toEqual([text, undefined]);
  });

  test("big-endian bytes of any length up to 32 read as unsigned integers", () => {
    expect(bytesToBigint(new Uint8Array())).toBe(0n);
    expect(bytesToBigint(Uint8Array.of(0))).toBe(0n);
    expect(bytesToBigint(Uint8Array.of(0, 0, 0, 7))).toBe(7n);
    expect(bytesToBigint(Uint8Array.of(1, 0))).toBe(256n);
    expect(bytesToBigint(new Uint8Array(32).fill(0xff))).toBe(MAX_UINT256);
    const tooLong = snetErrorOf(() => bytesToBigint(new Uint8Array(33), "channel_id"));
    expect(tooLong.code).toBe(Code.INVALID_ARGUMENT);
    expect(tooLong.message).toBe("channel_id is 33 bytes long, expected at most 32");
  });

  test("replies carry fixed-width big-endian bytes; ids may be sent minimal", () => {
    expect(bigintToBytes(0n)).toEqual(new Uint8Array(32));
    expect(bigintToBytes(258n, 2)).toEqual(Uint8Array.of(1, 2));
    expect(bigintToBytes(MAX_UINT256)).toEqual(new Uint8Array(32).fill(0xff));
    expect(() => bigintToBytes(256n, 1)).toThrow("value 256 does not fit in 1 bytes");
    expect(() => bigintToBytes(-1n)).toThrow("negative value -1 cannot be encoded as unsigned bytes");
    expect(bigintToMinimalBytes(0n)).toEqual(Uint8Array.of(0));
    expect(bigintToMinimalBytes(255n)).toEqual(Uint8Array.of(255));
    expect(bigintToMinimalBytes(256n)).toEqual(Uint8Array.of(1, 0));
    for (const v of [0n, 1n, 255n, 256n, 65_535n, 2n ** 64n, MAX_UINT256]) {
      expect(bytesToBigint(bigintToMinimalBytes(v))).toBe(v);
      expect(bytesToBigint(bigintToBytes(v))).toBe(v);
    }
  });

  test("hex round-trips with or without 0x and refuses non-hex", () => {
    expect(hexToBytes("0x00ff10")).toEqual(Uint8Array.of(0, 255, 16));
    expect(hexToBytes("0XAB")).toEqual(Uint8Array.of(0xab));
    expect(hexToBytes("")).toEqual(new Uint8Array());
    expect(bytesToHex(Uint8Array.of(0, 255, 16))).toBe("0x00ff10");
    expect(bytesToHex(Uint8Array.of(1), false)).toBe("01");
    expect(() => hexToBytes("0x123")).toThrow('"0x123" is not hex text');
    expect(() => hexToBytes("0xzz")).toThrow('"0xzz" is not hex text');
  });

  test("concatenation and comparison of bytes", () => {
    expect(concatBytes(Uint8Array.of(1), new Uint8Array(), Uint8Array.of(2, 3))).toEqual(Uint8Array.of(1, 2, 3));
    expect(bytesEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2))).toBe(true);
    expect(bytesEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 3))).toBe(false);
    expect(bytesEqual(Uint8Array.of(1), Uint8Array.of(1, 0))).toBe(false);
  });
});

describe("payment metadata", () => {
  const signature = Uint8Array.from({ length: 65 }, (_, i) => i);
  const signatureB64 = Buffer.from(signature).toString("base64").replace(/=+$/, "");
  const decode = (v: string) => Uint8Array.from(Buffer.from(v, "base64"));
  const escrow: Record<string, string[]> = {
    "snet-payment-type": ["escrow"],
    "snet-payment-channel-id": ["42"],
    "snet-payment-channel-nonce": ["3"],
    "snet-payment-channel-amount": ["1000"],
    "snet-payment-channel-signature-bin": [signatureB64],
    "user-agent": ["grpc-node-js/1.14.7"],
  };
  const md = (entries: Record<string, string[]>, changes: Record<string, string[] | undefined> = {}): MetadataView => {
    const out = new Map(Object.entries(entries));
    for (const [k, v] of Object.entries(changes)) {
      if (v === undefined) out.delete(k);
      else out.set(k, v);
    }
    return out;
  };
  const refusal = (view: MetadataView) => {
    const err = snetErrorOf(() => parsePayment(view, decode));
    return { code: err.code, message: err.message };
  };

  test("escrow headers parse to a typed payment, with the signature bytes as sent", () => {
    expect(parsePayment(md(escrow), decode)).toEqual({
      type: "escrow",
      channelId: 42n,
      nonce: 3n,
      amount: 1000n,
      signature,
    });
  });

  test("without a payment type the payment is escrow", () => {
    expect(parsePayment(md(escrow, { "snet-payment-type": undefined }), decode).type).toBe("escrow");
  });

  test("no metadata at all, an unknown type, a missing header", () => {
    expect(refusal(new Map())).toEqual({ code: Code.INVALID_ARGUMENT, message: "missing metadata" });
    expect(refusal(md(escrow, { "snet-payment-type": ["bogus"] }))).toEqual({
      code: Code.INVALID_ARGUMENT,
      message: 'unexpected "snet-payment-type", value: "bogus"',
    });
    for (const key of [
      "snet-payment-channel-id",
      "snet-payment-channel-nonce",
      "snet-payment-channel-amount",
      "snet-payment-channel-signature-bin",
    ]) {
      expect(refusal(md(escrow, { [key]: undefined }))).toEqual({
        code: Code.INVALID_ARGUMENT,
        message: `missing "${key}"`,
      });
      // A key present with no value is as good as absent.
      expect(refusal(md(escrow, { [key]: [] }))).toEqual({ code: Code.INVALID_ARGUMENT, message: `missing "${key}"` });
    }
  });

  test("a repeated header is refused with every value, the payment type included", () => {
    expect(refusal(md(escrow, { "snet-payment-channel-amount": ["100", "200"] }))).toEqual({
      code: Code.INVALID_ARGUMENT,
      message: 'too many values for key "snet-payment-channel-amount": [100 200]',
    });
    expect(refusal(md(escrow, { "snet-payment-type": ["escrow", "free-call"] }))).toEqual({
      code: Code.INVALID_ARGUMENT,
      message: 'too many values for key "snet-payment-type": [escrow free-call]',
    });
  });

  test("numbers that are not canonical decimals and signatures that are not base64 are malformed", () => {
    for (const key of ["snet-payment-channel-id", "snet-payment-channel-nonce", "snet-payment-channel-amount"]) {
      for (const bad of ["0x10", "-1", "01", ""]) {
        expect(refusal(md(escrow, { [key]: [bad] }))).toEqual({
          code: Code.INVALID_ARGUMENT,
          message: `incorrect format "${key}": "${bad}"`,
        });
      }
    }
    expect(refusal(md(escrow, { "snet-payment-channel-signature-bin": ["not base64!"] }))).toEqual({
      code: Code.INVALID_ARGUMENT,
      message: 'incorrect format "snet-payment-channel-signature-bin": "not base64!"',
    });
  });

  test("prepaid and free-call headers parse to their own shapes", () => {
    const token = Buffer.from("header.payload.sig").toString("base64");
    expect(
      parsePayment(
        md({
          "snet-payment-type": ["prepaid-call"],
          "snet-payment-channel-id": ["7"],
          "snet-prepaid-auth-token-bin": [token],
        }),
        decode,
      ),
    ).toEqual({
      type: "prepaid-call",
      channelId: 7n,
      token: "header.payload.sig",
    });
    const free = parsePayment(
      md({
        "snet-payment-type": ["free-call"],
        "snet-free-call-user-address": ["0xAbC0000000000000000000000000000000000001"],
        "snet-current-block-number": ["12"],
        "snet-free-call-auth-token-bin": [Buffer.from([1, 2]).toString("base64")],
        "snet-payment-channel-signature-bin": [signatureB64],
      }),
      decode,
    );
    expect(free).toEqual({
      type: "free-call",
      dialect: "v6",
      addressText: "0xAbC0000000000000000000000000000000000001",
      userId: "",
      currentBlock: 12n,
      token: Uint8Array.of(1, 2),
      signature,
    });
  });
});

const SENDER = "0x1111111111111111111111111111111111111111" as Address;
const SIGNER = "0x2222222222222222222222222222222222222222" as Address;
const RECIPIENT = "0x3333333333333333333333333333333333333333" as Address;
const STRANGER = "0x4444444444444444444444444444444444444444" as Address;
const GROUP = `0x${"ab".repeat(32)}` as const;

const chainChannel = (over: Partial<ChainChannel> = {}): ChainChannel => ({
  nonce: 0n,
  sender: SENDER,
  signer: SIGNER,
  recipient: RECIPIENT,
  groupId: GROUP,
  value: 1000n,
  expiration: 500n,
  ...over,
});

describe("stored channel merged with the chain", () => {
  const stored: ChannelState = {
    ...fromChain(9n, chainChannel()),
    authorisedAmount: 300n,
    signature: Uint8Array.of(1, 2, 3),
  };

  test("a channel first seen on the chain starts with nothing authorised", () => {
    expect(fromChain(9n, chainChannel())).toEqual({
      channelId: 9n,
      nonce: 0n,
      sender: SENDER,
      signer: SIGNER,
      recipient: RECIPIENT,
      groupId: GROUP,
      fullAmount: 1000n,
      expiration: 500n,
      authorisedAmount: 0n,
    });
  });

  test("equal nonces: stored payment kept, value and expiration from the chain (top-up, extension)", () => {
    expect(mergeWithChain(stored, chainChannel({ value: 1500n, expiration: 900n }))).toEqual({
      ...stored,
      fullAmount: 1500n,
      expiration: 900n,
    });
  });

  test("stored nonce ahead: a claim is in flight, the stored record stands as is", () => {
    const claiming = { ...stored, nonce: 1n, fullAmount: 700n, authorisedAmount: 0n };
    expect(mergeWithChain(claiming, chainChannel({ value: 1000n }))).toBe(claiming);
  });

  test("stored nonce behind: claimed elsewhere, the local payment is dropped for the chain's record", () => {
    const merged = mergeWithChain(stored, chainChannel({ nonce: 1n, value: 700n }));
    expect(merged).toEqual(fromChain(9n, chainChannel({ nonce: 1n, value: 700n })));
    expect(merged.signature).toBeUndefined();
  });

  test("a zero sender means the chain does not know the channel", () => {
    expect(isUnknownOnChain(chainChannel({ sender: `0x${"0".repeat(40)}` }))).toBe(true);
    expect(isUnknownOnChain(chainChannel())).toBe(false);
  });
});

describe("escrow validation", () => {
  const channel: ChannelState = { ...fromChain(9n, chainChannel()), authorisedAmount: 200n };
  const payment: EscrowPayment = {
    type: "escrow",
    channelId: 9n,
    nonce: 0n,
    amount: 300n,
    signature: new Uint8Array(65),
  };
  type CheckOverrides = Omit<Partial<EscrowCheck>, "payment" | "channel"> & {
    payment?: Partial<EscrowPayment>;
    channel?: Partial<ChannelState>;
  };
  const check = (over: CheckOverrides = {}) => {
    const { payment: p, channel: c, ...rest } = over;
    const failed = checkEscrow({
      signer: SENDER,
      head: 100n,
      expirationThreshold: 100n,
      price: 100n,
      ...rest,
      payment: { ...payment, ...p },
      channel: { ...channel, ...c },
    });
    return failed && { failure: failed.failure, code: failed.error.code, message: failed.error.message };
  };

  test("an exact next payment signed by the sender or the signer passes", () => {
    expect(check()).toBeUndefined();
    expect(check({ signer: SIGNER })).toBeUndefined();
  });

  test("each failure with its catalogue code and message", () => {
    expect(check({ payment: { nonce: 1n } })).toEqual({
      failure: "nonce",
      code: Code.INCORRECT_NONCE,
      message: "incorrect payment channel nonce, latest: 0, sent: 1",
    });
    expect(check({ signer: undefined })).toEqual({
      failure: "signer",
      code: Code.UNAUTHENTICATED,
      message: "payment signature is not valid",
    });
    expect(check({ signer: RECIPIENT })).toEqual({
      failure: "signer",
      code: Code.UNAUTHENTICATED,
      message: "payment is not signed by channel signer/sender",
    });
    expect(check({ head: 400n })).toEqual({
      failure: "expired",
      code: Code.UNAUTHENTICATED,
      message:
        "payment channel is near to be expired, expiration time: 500, current block: 400, expiration threshold: 100",
    });
    expect(check({ payment: { amount: 1100n }, price: 900n })).toEqual({
      failure: "funds",
      code: Code.UNAUTHENTICATED,
      message: "not enough tokens on payment channel, channel amount: 1000, payment amount: 1100",
    });
    expect(check({ payment: { amount: 350n } })).toEqual({
      failure: "price",
      code: Code.UNAUTHENTICATED,
      message: "income 150 does not equal to price 100",
    });
    expect(check({ payment: { amount: 250n } })).toEqual({
      failure: "price",
      code: Code.UNAUTHENTICATED,
      message: "income 50 does not equal to price 100",
    });
    expect(check({ payment: { amount: 200n } })).toEqual({
      failure: "price",
      code: Code.UNAUTHENTICATED,
      message: "income 0 does not equal to price 100",
    });
  });

  test("the reference's order decides which error a client sees first", () => {
    // Everything wrong at once: the nonce is reported, then signer, expiry, funds, price.
    const allWrong = { payment: { nonce: 5n, amount: 5000n }, signer: STRANGER, head: 450n };
    expect(check(allWrong)?.failure).toBe("nonce");
    expect(check({ ...allWrong, payment: { amount: 5000n } })?.failure).toBe("signer");
    expect(check({ ...allWrong, payment: { amount: 5000n }, signer: SENDER })?.failure).toBe("expired");
    expect(check({ payment: { amount: 5000n } })?.failure).toBe("funds");
  });

  test("expiry is strict: head + threshold must be below the expiration", () => {
    expect(check({ head: 399n })).toBeUndefined();
    expect(check({ head: 400n })?.failure).toBe("expired");
    expect(check({ head: 0n, expirationThreshold: 0n, channel: { expiration: 0n } })?.failure).toBe("expired");
  });

  test("the whole channel value may be spent, not a cog more", () => {
    expect(check({ channel: { authorisedAmount: 900n }, payment: { amount: 1000n } })).toBeUndefined();
    expect(check({ channel: { authorisedAmount: 900n }, payment: { amount: 1001n }, price: 101n })?.failure).toBe(
      "funds",
    );
  });

  test("without a price (prepaid token requests) any amount within the channel passes", () => {
    expect(check({ price: undefined, payment: { amount: 200n } })).toBeUndefined();
    expect(check({ price: undefined, payment: { amount: 1000n } })).toBeUndefined();
    expect(check({ price: undefined, payment: { amount: 1001n } })?.failure).toBe("funds");
  });

  test("only failures a fresher chain view could fix send the daemon to the chain", () => {
    const cases: [EscrowFailure, bigint, bigint, boolean][] = [
      ["nonce", 1n, 0n, true], // claimed elsewhere: the chain may be at the sent nonce
      ["nonce", 0n, 1n, false], // the client is behind the daemon
      ["funds", 0n, 0n, true], // top-up
      ["expired", 0n, 0n, true], // extension
      ["signer", 0n, 0n, false],
      ["price", 0n, 0n, false],
    ];
    for (const [failure, sent, stored, expected] of cases)
      expect([failure, sent, stored, chainMayKnowBetter(failure, sent, stored)]).toEqual([
        failure,
        sent,
        stored,
        expected,
      ]);
  });
});
