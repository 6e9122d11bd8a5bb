/**
 * What the JavaScript SDK suites add to the interop world: the contracts' deployment transactions (the
 * SDKs find the MPE's deployment block through them), v5 free-call tokens as the v5 marketplace issued
 * them (protocol/payments.md#legacy-v5-free-calls), and Node runs of tests/interop/js/node-calls.mjs.
 *
 * @example
 * const info = await jsWorldInfo(w);
 * const token = v5FreeCallToken({ userId: "a@example.com", user: CLIENTS[1].address, expiryBlock: 1000n });
 */
import type { Address, Hex } from "viem";
import { signDigest } from "../../src/core/noble-recovery.ts";
import { bytesToHex, concatBytes, hexToBytes } from "../../src/core/numbers.ts";
import { personalDigest } from "../../src/core/signatures.ts";
import { FREE_CALL_SIGNER } from "../kit/contracts.ts";
import { runCli } from "../kit/daemon.ts";
import type { InteropInfo, InteropWorld } from "./interop-world.ts";

export interface JsWorldInfo extends InteropInfo {
  deployTx: { mpe: Hex; registry: Hex; token: Hex };
}

/** The world's info plus the transactions that created its contracts (found in the first blocks). */
export async function jsWorldInfo(w: InteropWorld): Promise<JsWorldInfo> {
  const { publicClient, mpe, registry, token } = w.world.deployment;
  const found = new Map<string, Hex>();
  const head = await publicClient.getBlockNumber();
  for (let n = 1n; n <= head && found.size < 3; n++) {
    const block = await publicClient.getBlock({ blockNumber: n, includeTransactions: true });
    for (const tx of block.transactions) {
      if (tx.to !== null) continue;
      const receipt = await publicClient.getTransactionReceipt({ hash: tx.hash });
      if (receipt.contractAddress) found.set(receipt.contractAddress.toLowerCase(), tx.hash);
    }
  }
  const txOf = (address: Address): Hex => {
    const hash = found.get(address.toLowerCase());
    if (!hash) throw new Error(`No deployment transaction found for contract ${address} in blocks 1..${head}`);
    return hash;
  };
  return { ...w.info, deployTx: { mpe: txOf(mpe), registry: txOf(registry), token: txOf(token) } };
}

export interface V5FreeCallOptions {
  /** What the SDKs take as options: the user id (e-mail), the token as hex, its expiry block. */
  email: string;
  tokenToMakeFreeCall: string;
  tokenExpirationBlock: number;
}

/**
 * A v5 free-call token: the group's free-call signer signs keccak(user id ‖ user address ‖ u256(expiry))
 * with EIP-191 (protocol/payments.md#legacy-v5-free-calls step 2), as the v5 marketplace did. Returned as the SDK options.
 */
export function v5FreeCallToken(input: { userId: string; user: Address; expiryBlock: bigint }): V5FreeCallOptions {
  const expiry = hexToBytes(`0x${input.expiryBlock.toString(16).padStart(64, "0")}`);
  const message = concatBytes(new TextEncoder().encode(input.userId), hexToBytes(input.user), expiry);
  const token = signDigest(hexToBytes(FREE_CALL_SIGNER.privateKey), personalDigest(message));
  return {
    email: input.userId,
    tokenToMakeFreeCall: bytesToHex(token),
    tokenExpirationBlock: Number(input.expiryBlock),
  };
}

export interface JsCallResult {
  ok: boolean;
  text?: string;
  payer?: string;
  type?: string;
  error?: string;
}

export interface NodeScriptRun {
  results: JsCallResult[];
  /** Everything the script printed on stdout (the SDKs log a lot). */
  stdout: string;
}

/** Runs a script of tests/interop/js under Node and parses its RESULT line; throws with its output otherwise. */
export async function runNodeScript(
  jsDir: string,
  script: string,
  args: string[],
  w: InteropWorld,
): Promise<NodeScriptRun> {
  const r = await runCli([`${jsDir}/${script}`, ...args], { command: ["node"], cwd: jsDir, timeoutMs: 180_000 });
  const line = r.stdout.split("\n").find((l) => l.startsWith("RESULT "));
  if (r.code !== 0 || !line)
    throw new Error(
      `node ${script} exited ${r.code}\nstdout:\n${r.stdout.slice(-6000)}\nstderr:\n${r.stderr.slice(-6000)}\nsnetd:\n${w.daemon.logs()}`,
    );
  return { results: JSON.parse(line.slice("RESULT ".length)) as JsCallResult[], stdout: r.stdout };
}
