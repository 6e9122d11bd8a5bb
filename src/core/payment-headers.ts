/**
 * Payment metadata of a proxied call, parsed and checked per protocol/headers.md#payment-metadata with the
 * messages of protocol/errors.md#payment-refusals. Pure: takes the metadata map, returns a typed payment or
 * throws INVALID_ARGUMENT.
 */
import {
  incorrectBinaryKeyName,
  incorrectFormat,
  missingHeader,
  missingMetadata,
  tooManyValues,
  unexpectedPaymentType,
} from "./messages/requests.ts";
import { parseDecimal } from "./numbers.ts";

export type MetadataView = ReadonlyMap<string, readonly string[]>;

export interface EscrowPayment {
  type: "escrow";
  channelId: bigint;
  nonce: bigint;
  /** Cumulative amount signed for this nonce. */
  amount: bigint;
  signature: Uint8Array;
}

export interface PrepaidPayment {
  type: "prepaid-call";
  channelId: bigint;
  token: string;
}

/** A v6 free call: the caller's address (as typed: it is what was signed) and a token from GetFreeCallToken. */
export interface FreeCallV6 {
  type: "free-call";
  dialect: "v6";
  addressText: string;
  userId: string;
  currentBlock: bigint;
  token: Uint8Array;
  signature: Uint8Array;
}

/** A v5 free call (JavaScript SDKs): an e-mail as user id and a marketplace token with its expiry block. */
export interface FreeCallV5 {
  type: "free-call";
  dialect: "v5";
  userId: string;
  expiryBlock: bigint;
  currentBlock: bigint;
  /** The free-call signer's 65-byte signature. */
  token: Uint8Array;
  signature: Uint8Array;
}

export type FreeCallPayment = FreeCallV6 | FreeCallV5;

export type Payment = EscrowPayment | PrepaidPayment | FreeCallPayment;

const one = (md: MetadataView, key: string): string | undefined => {
  const values = md.get(key);
  if (!values || values.length === 0) return undefined;
  if (values.length > 1) throw tooManyValues(key, values);
  return values[0];
};

const required = (md: MetadataView, key: string): string => {
  const value = one(md, key);
  if (value === undefined) throw missingHeader(key);
  return value;
};

const decimal = (md: MetadataView, key: string): bigint => {
  const text = required(md, key);
  const value = parseDecimal(text);
  if (value === undefined) throw incorrectFormat(key, text);
  return value;
};

/** `-bin` values are base64 on the wire (gRPC and gRPC-Web alike); padding optional. */
const binary = (md: MetadataView, key: string, decode: (v: string) => Uint8Array): Uint8Array => {
  if (!key.endsWith("-bin")) throw incorrectBinaryKeyName(key);
  const text = required(md, key);
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(text)) throw incorrectFormat(key, text);
  return decode(text);
};

export const PAYMENT_TYPE = "snet-payment-type";
const USER_ADDRESS = "snet-free-call-user-address";
const EXPIRY_BLOCK = "snet-free-call-token-expiry-block";

/**
 * v6 and v5 free calls differ by their headers, never ambiguously: the caller's address means v6 (v5
 * never sends it), else a token expiry block means v5 (v6 never sends it), else the v6 address is missing.
 */
function freeCall(md: MetadataView, decodeBase64: (v: string) => Uint8Array): FreeCallPayment {
  const common = {
    type: "free-call" as const,
    currentBlock: decimal(md, "snet-current-block-number"),
    token: binary(md, "snet-free-call-auth-token-bin", decodeBase64),
    signature: binary(md, "snet-payment-channel-signature-bin", decodeBase64),
  };
  if (md.has(USER_ADDRESS) || !md.has(EXPIRY_BLOCK)) {
    return {
      ...common,
      dialect: "v6",
      addressText: required(md, USER_ADDRESS),
      userId: one(md, "snet-free-call-user-id") ?? "",
    };
  }
  return {
    ...common,
    dialect: "v5",
    userId: required(md, "snet-free-call-user-id"),
    expiryBlock: decimal(md, EXPIRY_BLOCK),
  };
}

/** The typed payment of a call's metadata, or INVALID_ARGUMENT naming the header at fault. */
export function parsePayment(md: MetadataView, decodeBase64: (v: string) => Uint8Array): Payment {
  if (md.size === 0) throw missingMetadata();
  const type = one(md, PAYMENT_TYPE) ?? "escrow";
  switch (type) {
    case "escrow":
      return {
        type,
        channelId: decimal(md, "snet-payment-channel-id"),
        nonce: decimal(md, "snet-payment-channel-nonce"),
        amount: decimal(md, "snet-payment-channel-amount"),
        signature: binary(md, "snet-payment-channel-signature-bin", decodeBase64),
      };
    case "prepaid-call":
      return {
        type,
        channelId: decimal(md, "snet-payment-channel-id"),
        token: new TextDecoder().decode(binary(md, "snet-prepaid-auth-token-bin", decodeBase64)),
      };
    case "free-call":
      return freeCall(md, decodeBase64);
    default:
      throw unexpectedPaymentType(PAYMENT_TYPE, type);
  }
}
