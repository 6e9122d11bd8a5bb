// Every signature kind reproduced byte for byte from tests/vectors/signatures.json (protocol/signatures.md#vectors).
import { describe, expect, test } from "bun:test";
import { signDigest } from "../../src/core/noble-recovery.ts";
import { bytesToHex, hexToBytes } from "../../src/core/numbers.ts";
import * as sig from "../../src/core/signatures.ts";
import { defaultRecovery, nobleRecovery } from "../../src/crypto/native-recovery.ts";
import vectors from "../vectors/signatures.json" with { type: "json" };

type Field = { name: string; type: string; value: string };
type Case = (typeof vectors.signatures)[number];

const val = (c: Case, name: string): string => {
  const f = (c.fields as Field[]).find((x) => x.name === name);
  if (!f) throw new Error(`${c.id}: no field ${name}`);
  return f.value;
};
const big = (c: Case, name: string) => BigInt(val(c, name));

function pack(c: Case): Uint8Array {
  switch (c.kind) {
    case "escrow_claim":
      return sig.claimMessage(val(c, "mpe_address"), big(c, "channel_id"), big(c, "nonce"), big(c, "amount"));
    case "channel_state":
      return sig.channelStateMessage(val(c, "mpe_address"), big(c, "channel_id"), big(c, "current_block"));
    case "list_unclaimed":
      return sig.listUnclaimedMessage(val(c, "mpe_address"), big(c, "current_block"));
    case "list_in_progress":
      return sig.listInProgressMessage(val(c, "mpe_address"), big(c, "current_block"));
    case "start_claim":
      return sig.startClaimMessage(val(c, "mpe_address"), big(c, "channel_id"), big(c, "nonce"));
    case "multi_claim": {
      // The request carries ids unsorted; the packer must sort them.
      const ids = (c as { request: { channel_ids_as_sent: string[] } }).request.channel_ids_as_sent.map(BigInt);
      return sig.multiClaimMessage(val(c, "mpe_address"), ids, big(c, "current_block"));
    }
    case "free_call_token_request":
    case "free_call_invocation": {
      const fields = {
        addressText: val(c, "address_text"),
        userId: val(c, "user_id"),
        orgId: val(c, "organization_id"),
        serviceId: val(c, "service_id"),
        groupIdBase64: val(c, "group_id_base64_text"),
        currentBlock: big(c, "current_block"),
      };
      return c.kind === "free_call_token_request"
        ? sig.freeCallTokenRequestMessage(fields)
        : sig.freeCallInvocationMessage(fields, hexToBytes(val(c, "free_call_token")));
    }
    case "free_call_token":
      return sig.freeCallTokenMessage(
        val(c, "organization_id"),
        val(c, "daemon_group_name"),
        val(c, "user_address"),
        val(c, "user_id"),
        big(c, "expiration_block"),
      );
    case "prepaid_token_request":
      return sig.prepaidTokenRequestMessage(hexToBytes(val(c, "claim_signature")), big(c, "current_block"));
    case "training_auth":
      return sig.trainingAuthMessage(val(c, "message_text"), val(c, "signer_address"), big(c, "current_block"));
    case "configuration_auth":
      return sig.configurationAuthMessage(val(c, "prefix"), big(c, "current_block"));
    default:
      throw new Error(`unknown kind ${c.kind}`);
  }
}

const keys = vectors.keys as Record<string, { private_key: string; address: string }>;

describe("signature vectors", () => {
  test("all 32 cases are present", () => {
    expect(vectors.signatures.length).toBe(32);
  });
  for (const c of vectors.signatures) {
    test(`${c.id}: ${c.description}`, () => {
      const message = pack(c);
      expect(bytesToHex(message)).toBe(c.message_hex);
      expect(message.length).toBe(c.message_length);
      expect(bytesToHex(sig.keccak256(message))).toBe(c.message_keccak);
      const digest = sig.personalDigest(message);
      expect(bytesToHex(digest)).toBe(c.eip191_digest);
      const signer = c.signer_address.toLowerCase();
      for (const recovery of [defaultRecovery(), nobleRecovery]) {
        expect(sig.recoverSigner(recovery, message, hexToBytes(c.signature))).toBe(signer as sig.Address);
        expect(sig.recoverSigner(recovery, message, hexToBytes(c.signature_v01))).toBe(signer as sig.Address);
      }
      const key = keys[c.signer_key];
      if (!key) throw new Error(`no key ${c.signer_key}`);
      expect(bytesToHex(signDigest(hexToBytes(key.private_key), digest))).toBe(c.signature);
    });
  }
  test("the native binding is used on linux-x64", () => {
    if (process.platform === "linux" && process.arch === "x64") expect(defaultRecovery().name).toBe("libsecp256k1");
  });
  test("malformed signatures are refused with the catalogue's messages", () => {
    const c = vectors.signatures[0]!;
    const good = hexToBytes(c.signature);
    expect(() => sig.parseSignature(good.subarray(0, 64))).toThrow("incorrect signature length");
    const badV = Uint8Array.from(good);
    badV[64] = 29;
    expect(() => sig.parseSignature(badV)).toThrow("incorrect signature data");
  });
  test("a tampered message recovers a different signer", () => {
    const c = vectors.signatures[0]!;
    const other = sig.claimMessage(val(c, "mpe_address"), big(c, "channel_id"), big(c, "nonce"), big(c, "amount") + 1n);
    expect(sig.recoverSigner(defaultRecovery(), other, hexToBytes(c.signature))).not.toBe(
      c.signer_address.toLowerCase() as sig.Address,
    );
  });
});
