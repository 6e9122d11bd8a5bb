/**
 * What a paying client (and the treasurer) does against the real contracts: fund the escrow, open and
 * top up channels, sign payments and state requests, claim on-chain (protocol/payments.md#treasurer-flow).
 *
 * @example
 * await fundClient(deployment, client.privateKey, 1000n);
 * const id = await openChannel(deployment, { clientKey: client.privateKey, recipient: PROVIDER.address,
 *   groupIdBytes: group.bytes, value: 1000n, expiration: head + 1000n });
 * const signature = signPayment(client.privateKey, deployment.mpe, id, 0n, 100n);
 * await claimOnChain(deployment, PROVIDER.privateKey, { channelId: id, amount: 100n, signature });
 */
import { type Address, type Hex, parseEventLogs, type TransactionReceipt } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { signDigest } from "../../src/core/noble-recovery.ts";
import { bytesToHex, hexToBytes } from "../../src/core/numbers.ts";
import { channelStateMessage, claimMessage, personalDigest } from "../../src/core/signatures.ts";
import { rpc } from "./anvil.ts";
import { DEPLOYER, type Deployment, mpeAbi, sendContractTx, tokenAbi } from "./contracts.ts";

const addressOf = (key: Hex): Address => privateKeyToAccount(key).address;

/**
 * Mints `amountCogs` to the client (account 0 is the token minter), approves the MPE and deposits it into
 * the client's escrow balance. Keys outside anvil's funded accounts get gas money first.
 */
export async function fundClient(deployment: Deployment, clientKey: Hex, amountCogs: bigint): Promise<void> {
  const client = addressOf(clientKey);
  if ((await deployment.publicClient.getBalance({ address: client })) === 0n) {
    await rpc<null>(deployment.rpcUrl, "anvil_setBalance", [client, `0x${(10n ** 20n).toString(16)}`]);
  }
  const token = { address: deployment.token, abi: tokenAbi };
  await sendContractTx(deployment, DEPLOYER.privateKey, { ...token, functionName: "mint", args: [client, amountCogs] });
  await sendContractTx(deployment, clientKey, {
    ...token,
    functionName: "approve",
    args: [deployment.mpe, amountCogs],
  });
  await sendContractTx(deployment, clientKey, {
    address: deployment.mpe,
    abi: mpeAbi,
    functionName: "deposit",
    args: [amountCogs],
  });
}

export interface OpenChannelParameters {
  clientKey: Hex;
  /** Key allowed to sign payments besides the sender; the client itself by default. */
  signer?: Address;
  /** The group's payment_address. */
  recipient: Address;
  /** The org metadata group_id, base64-decoded (32 bytes). */
  groupIdBytes: Uint8Array;
  value: bigint;
  expiration: bigint;
}

/** Opens a channel from the client's escrow balance; resolves to the id from the ChannelOpen event. */
export async function openChannel(deployment: Deployment, p: OpenChannelParameters): Promise<bigint> {
  if (p.groupIdBytes.length !== 32) throw new RangeError(`group id is ${p.groupIdBytes.length} bytes, expected 32`);
  const receipt = await sendContractTx(deployment, p.clientKey, {
    address: deployment.mpe,
    abi: mpeAbi,
    functionName: "openChannel",
    args: [p.signer ?? addressOf(p.clientKey), p.recipient, bytesToHex(p.groupIdBytes), p.value, p.expiration],
  });
  const [event] = parseEventLogs({ abi: mpeAbi, logs: receipt.logs, eventName: "ChannelOpen" });
  // Shape fixed by the packaged ABI's ChannelOpen(uint256 channelId, …); the JSON ABI is not literal-typed.
  const channelId = (event?.args as { channelId?: bigint } | undefined)?.channelId;
  if (channelId === undefined)
    throw new Error(`openChannel transaction "${receipt.transactionHash}" emitted no ChannelOpen event`);
  return channelId;
}

export interface ChannelOnChain {
  nonce: bigint;
  sender: Address;
  signer: Address;
  recipient: Address;
  groupId: Hex;
  value: bigint;
  expiration: bigint;
}

/** `channels(id)` in the contract's tuple order (protocol/contracts.md#mpe-reads); an unknown id has sender 0x0. */
export async function channelOnChain(deployment: Deployment, channelId: bigint): Promise<ChannelOnChain> {
  // Tuple order of the packaged ABI; the JSON ABI is not literal-typed.
  const [nonce, sender, signer, recipient, groupId, value, expiration] = (await deployment.publicClient.readContract({
    address: deployment.mpe,
    abi: mpeAbi,
    functionName: "channels",
    args: [channelId],
  })) as readonly [bigint, Address, Address, Address, Hex, bigint, bigint];
  return { nonce, sender, signer, recipient, groupId, value, expiration };
}

/** Escrow payment signature (protocol/signatures.md#escrow-claim), 65 bytes with v = 27/28. */
export function signPayment(
  clientKey: Hex,
  mpe: Address,
  channelId: bigint,
  nonce: bigint,
  amount: bigint,
): Uint8Array {
  return signDigest(hexToBytes(clientKey), personalDigest(claimMessage(mpe, channelId, nonce, amount)));
}

/** GetChannelState request signature (protocol/signatures.md#channel-state). */
export function signChannelStateRequest(
  clientKey: Hex,
  mpe: Address,
  channelId: bigint,
  currentBlock: bigint,
): Uint8Array {
  return signDigest(hexToBytes(clientKey), personalDigest(channelStateMessage(mpe, channelId, currentBlock)));
}

export interface EscrowPayment {
  channelId: bigint;
  nonce: bigint;
  /** Cumulative amount for this nonce. */
  amount: bigint;
  signature: Uint8Array;
}

/**
 * gRPC request metadata of an escrow call (protocol/headers.md#escrow-headers); `-bin` values as Buffers for grpc-js.
 */
export function paymentMetadata(p: EscrowPayment): Record<string, string | Buffer> {
  return {
    "snet-payment-type": "escrow",
    "snet-payment-channel-id": p.channelId.toString(),
    "snet-payment-channel-nonce": p.nonce.toString(),
    "snet-payment-channel-amount": p.amount.toString(),
    "snet-payment-channel-signature-bin": Buffer.from(p.signature),
  };
}

export interface ClaimParameters {
  channelId: bigint;
  amount: bigint;
  signature: Uint8Array;
}

/**
 * The treasurer's on-chain claim as snet-cli sends it (protocol/payments.md#treasurer-flow step 4):
 * `channelClaim(id, amount, amount, v, r, s, false)` with v forced to 27/28, from the recipient's key.
 */
export async function claimOnChain(
  deployment: Deployment,
  providerKey: Hex,
  p: ClaimParameters,
): Promise<TransactionReceipt> {
  if (p.signature.length !== 65) throw new RangeError(`signature is ${p.signature.length} bytes, expected 65`);
  const v = ((p.signature[64] as number) % 27) + 27;
  const r = bytesToHex(p.signature.subarray(0, 32));
  const s = bytesToHex(p.signature.subarray(32, 64));
  return sendContractTx(deployment, providerKey, {
    address: deployment.mpe,
    abi: mpeAbi,
    functionName: "channelClaim",
    args: [p.channelId, p.amount, p.amount, v, r, s, false],
  });
}

/** Escrow balance (deposited, not in channels) of an address in the MPE. */
export async function mpeBalance(deployment: Deployment, address: Address): Promise<bigint> {
  // uint256 per the packaged ABI; the JSON ABI is not literal-typed.
  return (await deployment.publicClient.readContract({
    address: deployment.mpe,
    abi: mpeAbi,
    functionName: "balances",
    args: [address],
  })) as bigint;
}

/** Token balance (cogs) of an address. */
export async function tokenBalance(deployment: Deployment, address: Address): Promise<bigint> {
  // uint256 per the packaged ABI; the JSON ABI is not literal-typed.
  return (await deployment.publicClient.readContract({
    address: deployment.token,
    abi: tokenAbi,
    functionName: "balanceOf",
    args: [address],
  })) as bigint;
}

/** `channelExtend`: only the sender may, and the new expiration must not be earlier. */
export async function extendChannel(
  deployment: Deployment,
  clientKey: Hex,
  channelId: bigint,
  newExpiration: bigint,
): Promise<TransactionReceipt> {
  return sendContractTx(deployment, clientKey, {
    address: deployment.mpe,
    abi: mpeAbi,
    functionName: "channelExtend",
    args: [channelId, newExpiration],
  });
}

/** `channelAddFunds` from the caller's escrow balance (anyone may top up any channel). */
export async function addFunds(
  deployment: Deployment,
  clientKey: Hex,
  channelId: bigint,
  amount: bigint,
): Promise<TransactionReceipt> {
  return sendContractTx(deployment, clientKey, {
    address: deployment.mpe,
    abi: mpeAbi,
    functionName: "channelAddFunds",
    args: [channelId, amount],
  });
}
