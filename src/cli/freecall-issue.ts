/**
 * `snetd freecall issue`: a v5 free-call token for a JavaScript dApp's user, signed with
 * private_key_for_free_calls — the SDKs take it as `email`, `tokenToMakeFreeCall` and `tokenExpirationBlock`.
 * (v6 clients ask the daemon for tokens themselves; v5 had only the marketplace to issue them.)
 */

import { loggerFor } from "../app/logger.ts";
import { paymentContext } from "../app/payment-context.ts";
import { MAX_TOKEN_LIFETIME_BLOCKS, signFreeCallV5Token } from "../core/free-call-token.ts";
import { addressOfPrivateKey } from "../core/noble-recovery.ts";
import { bytesToHex, hexToBytes, parseDecimal } from "../core/numbers.ts";
import { type Address, checksumAddress, isAddress } from "../core/signatures.ts";
import type { Values } from "./command.ts";
import { Exit, usageError } from "./exit-codes.ts";
import { configFor } from "./load-config.ts";

export async function issueFreeCallToken(values: Values): Promise<number> {
  const addressText = typeof values.address === "string" ? values.address : undefined;
  const userId = typeof values["user-id"] === "string" ? values["user-id"] : undefined;
  if (!addressText || !isAddress(addressText))
    throw usageError("snetd freecall issue needs --address 0x… (the user's wallet address)");
  if (!userId)
    throw usageError("snetd freecall issue needs --user-id (the user's e-mail, as the dApp passes it to the SDK)");
  const blocksText =
    typeof values["expiry-blocks"] === "string" ? values["expiry-blocks"] : MAX_TOKEN_LIFETIME_BLOCKS.toString();
  const lifetime = parseDecimal(blocksText);
  if (lifetime === undefined || lifetime === 0n)
    throw usageError(`--expiry-blocks "${blocksText}" is not a positive whole number of blocks`);

  const config = configFor(values, (w) => console.error(w));
  if (!config.private_key_for_free_calls)
    throw usageError("private_key_for_free_calls is not set: it signs the tokens");
  const key = hexToBytes(config.private_key_for_free_calls);
  const log = loggerFor({
    ...config,
    log: { ...config.log, output: { ...config.log.output, type: ["stderr"] }, level: "error" },
  });
  const ctx = await paymentContext(config, log, { store: "none" });
  try {
    const signer = addressOfPrivateKey(key);
    const expected = ctx.group.freeCallSignerAddress?.toLowerCase();
    if (signer !== expected && !config.trusted_free_call_signers.some((a) => a.toLowerCase() === signer)) {
      console.error(
        `warning: private_key_for_free_calls belongs to ${checksumAddress(signer)}, which is neither the group's free_call_signer_address nor a trusted_free_call_signers entry: daemons will refuse this token`,
      );
    }
    const expiryBlock = (await ctx.blocks.head()) + lifetime;
    const user = addressText.toLowerCase() as Address;
    const token = bytesToHex(signFreeCallV5Token(key, { user, userId, expiryBlock }), false);
    if (values.json === true) {
      console.log(
        JSON.stringify({
          address: checksumAddress(user),
          email: userId,
          tokenToMakeFreeCall: token,
          tokenExpirationBlock: expiryBlock.toString(),
        }),
      );
    } else {
      console.log(`free-call token for ${checksumAddress(user)} as "${userId}", valid until block ${expiryBlock}:`);
      console.log(`  email: "${userId}", tokenToMakeFreeCall: "${token}", tokenExpirationBlock: ${expiryBlock}`);
    }
    return Exit.OK;
  } finally {
    await ctx.close();
  }
}
