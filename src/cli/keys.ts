/** The provider's private key for claims: from --private-key-file, else `private_key` / SNET_PRIVATE_KEY. */
import { readFileSync } from "node:fs";
import { addressOfPrivateKey } from "../core/noble-recovery.ts";
import { hexToBytes } from "../core/numbers.ts";
import type { Address } from "../core/signatures.ts";
import { checksum } from "../payments/escrow-gate.ts";
import { usageError } from "./exit-codes.ts";

export interface ProviderKey {
  bytes: Uint8Array;
  hex: `0x${string}`;
  address: Address;
}

export function providerKey(opts: { file?: string; configured?: string }, expected: Address, groupName: string): ProviderKey {
  let text: string | undefined;
  if (opts.file) {
    try {
      text = readFileSync(opts.file, "utf8").trim();
    } catch (err) {
      throw usageError(`cannot read --private-key-file "${opts.file}": ${(err as Error).message}`);
    }
  } else text = opts.configured?.trim();
  if (!text) throw usageError("no private key: set private_key in the config, SNET_PRIVATE_KEY, or pass --private-key-file FILE");
  const hex = (text.startsWith("0x") ? text : `0x${text}`) as `0x${string}`;
  if (!/^0x[0-9a-fA-F]{64}$/.test(hex)) throw usageError("the private key is not 32 bytes of hex (the key itself is not shown)");
  const bytes = hexToBytes(hex);
  const address = addressOfPrivateKey(bytes);
  if (address !== expected) {
    throw usageError(`the private key belongs to ${checksum(address)}, not to ${checksum(expected)}, the payment address of group "${groupName}"; only the payment address can claim`);
  }
  return { bytes, hex, address };
}
