/** The provider's private key for claims: from --private-key-file, else `private_key` / SNET_PRIVATE_KEY. */
import { readFileSync } from "node:fs";
import { keyFileUnreadable, keyNotHex, keyNotPaymentAddress, noPrivateKey } from "../core/messages/startup.ts";
import { addressOfPrivateKey } from "../core/noble-recovery.ts";
import { hexToBytes } from "../core/numbers.ts";
import type { Address } from "../core/signatures.ts";
import { checksumAddress } from "../core/signatures.ts";

export interface ProviderKey {
  bytes: Uint8Array;
  hex: `0x${string}`;
  address: Address;
}

export function providerKey(
  opts: { file?: string; configured?: string },
  expected: Address,
  groupName: string,
): ProviderKey {
  let text: string | undefined;
  if (opts.file) {
    try {
      text = readFileSync(opts.file, "utf8").trim();
    } catch (err) {
      throw keyFileUnreadable(opts.file, (err as Error).message);
    }
  } else text = opts.configured?.trim();
  if (!text) throw noPrivateKey();
  const hex = (text.startsWith("0x") ? text : `0x${text}`) as `0x${string}`;
  if (!/^0x[0-9a-fA-F]{64}$/.test(hex)) throw keyNotHex();
  const bytes = hexToBytes(hex);
  const address = addressOfPrivateKey(bytes);
  if (address !== expected) {
    throw keyNotPaymentAddress(checksumAddress(address), checksumAddress(expected), groupName);
  }
  return { bytes, hex, address };
}
