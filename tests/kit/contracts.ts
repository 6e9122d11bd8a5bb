/**
 * The real SingularityNET contracts on a test chain (protocol/contracts.md#test-chain): SingularityNetToken as the
 * token (8 decimals, deployer is minter), MultiPartyEscrow(token) and Registry, deployed from the npm
 * bytecode by anvil account 0, plus a per-sender transaction helper the rest of the kit builds on.
 *
 * @example
 * const anvil = await startAnvil();
 * const deployment = await deployContracts(anvil.rpcUrl);
 * // deployment.mpe === "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512" on a fresh chain
 */

import mpeAbiJson from "singularitynet-platform-contracts/abi/MultiPartyEscrow.json" with { type: "json" };
import registryAbiJson from "singularitynet-platform-contracts/abi/Registry.json" with { type: "json" };
import mpeBytecodeJson from "singularitynet-platform-contracts/bytecode/MultiPartyEscrow.json" with { type: "json" };
import registryBytecodeJson from "singularitynet-platform-contracts/bytecode/Registry.json" with { type: "json" };
import tokenAbiJson from "singularitynet-token-contracts/abi/SingularityNetToken.json" with { type: "json" };
import tokenBytecodeJson from "singularitynet-token-contracts/bytecode/SingularityNetToken.json" with { type: "json" };
import {
  type Abi,
  type Address,
  type Chain,
  createPublicClient,
  createWalletClient,
  defineChain,
  getAddress,
  type Hex,
  http,
  type PrivateKeyAccount,
  type PublicClient,
  type TransactionReceipt,
  type Transport,
  type WalletClient,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";

// The JSON modules are inferred with `type: string` etc., which viem's literal `Abi` union does not accept
// directly; they are the packaged ABIs verbatim, so widening through unknown is sound.
export const mpeAbi = mpeAbiJson as unknown as Abi;
export const registryAbi = registryAbiJson as unknown as Abi;
export const tokenAbi = tokenAbiJson as unknown as Abi;

function creationCode(code: string, what: string): Hex {
  if (!/^0x[0-9a-fA-F]+$/.test(code)) throw new Error(`${what} bytecode is not 0x-prefixed hex`);
  return code as Hex;
}
const tokenBytecode = creationCode(tokenBytecodeJson, "SingularityNetToken");
const mpeBytecode = creationCode(mpeBytecodeJson, "MultiPartyEscrow");
const registryBytecode = creationCode(registryBytecodeJson, "Registry");

export interface TestAccount {
  readonly privateKey: Hex;
  readonly address: Address;
}

/**
 * The 10 accounts of anvil's standard test mnemonic ("test test … junk"), each funded with 10,000 ETH.
 * Roles in this kit: 0 deployer (token minter), 1 provider (group payment_address, treasurer),
 * 2 free-call signer, 3–9 clients.
 */
export const ACCOUNTS = [
  {
    privateKey: "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    address: "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
  },
  {
    privateKey: "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    address: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
  },
  {
    privateKey: "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    address: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
  },
  {
    privateKey: "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    address: "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
  },
  {
    privateKey: "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    address: "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65",
  },
  {
    privateKey: "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    address: "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc",
  },
  {
    privateKey: "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    address: "0x976EA74026E726554dB657fA54763abd0C3a0aa9",
  },
  {
    privateKey: "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    address: "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955",
  },
  {
    privateKey: "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    address: "0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f",
  },
  {
    privateKey: "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
    address: "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720",
  },
] as const satisfies readonly TestAccount[];

export const DEPLOYER: TestAccount = ACCOUNTS[0];
export const PROVIDER: TestAccount = ACCOUNTS[1];
export const FREE_CALL_SIGNER: TestAccount = ACCOUNTS[2];
/** Accounts 3–9, free for paying clients. */
export const CLIENTS: readonly TestAccount[] = ACCOUNTS.slice(3);

/** Where account 0 puts the contracts on a fresh chain (nonces 0, 1, 2; protocol/contracts.md#test-chain). */
export const FRESH_CHAIN_ADDRESSES = {
  token: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
  mpe: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
  registry: "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0",
} as const satisfies Record<string, Address>;

export type KitPublicClient = PublicClient<Transport, Chain>;
export type KitWalletClient = WalletClient<Transport, Chain, PrivateKeyAccount>;

export interface Deployment {
  token: Address;
  mpe: Address;
  registry: Address;
  chainId: number;
  rpcUrl: string;
  publicClient: KitPublicClient;
  /** Account 0. Send through `sendContractTx` when other kit calls may run concurrently (nonces). */
  deployerWallet: KitWalletClient;
}

// Anvil answers within milliseconds; viem's 4 s default would dominate every test.
const POLLING_INTERVAL_MS = 25;

function chainFor(rpcUrl: string, chainId: number): Chain {
  return defineChain({
    id: chainId,
    name: `anvil ${rpcUrl}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
}

export function walletFor(chain: Chain, rpcUrl: string, privateKey: Hex): KitWalletClient {
  return createWalletClient({
    account: privateKeyToAccount(privateKey),
    chain,
    transport: http(rpcUrl),
    pollingInterval: POLLING_INTERVAL_MS,
  });
}

// One transaction at a time per (node, sender): viem reads the pending nonce before each send, so two
// concurrent sends from one account would pick the same nonce. Different senders still run in parallel.
const senderQueues = new Map<string, Promise<unknown>>();

async function serialized<T>(key: string, work: () => Promise<T>): Promise<T> {
  const previous = senderQueues.get(key) ?? Promise.resolve();
  const run = previous.catch(() => undefined).then(work);
  senderQueues.set(key, run);
  try {
    return await run;
  } finally {
    if (senderQueues.get(key) === run) senderQueues.delete(key);
  }
}

export interface ContractTx {
  address: Address;
  abi: Abi;
  functionName: string;
  args?: readonly unknown[];
}

/**
 * Sends one contract call signed by `privateKey`, waits for its receipt and throws when it reverted.
 * Reverts detected during gas estimation surface as viem errors carrying the revert reason.
 */
export async function sendContractTx(
  deployment: Deployment,
  privateKey: Hex,
  tx: ContractTx,
): Promise<TransactionReceipt> {
  const wallet = walletFor(deployment.publicClient.chain, deployment.rpcUrl, privateKey);
  return serialized(`${deployment.rpcUrl}|${wallet.account.address.toLowerCase()}`, async () => {
    const hash = await wallet.writeContract({
      address: tx.address,
      abi: tx.abi,
      functionName: tx.functionName,
      args: tx.args ?? [],
    });
    const receipt = await deployment.publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new Error(`${tx.functionName} reverted in transaction "${hash}"`);
    return receipt;
  });
}

async function deploy(
  publicClient: KitPublicClient,
  wallet: KitWalletClient,
  rpcUrl: string,
  abi: Abi,
  bytecode: Hex,
  args: readonly unknown[],
): Promise<Address> {
  return serialized(`${rpcUrl}|${wallet.account.address.toLowerCase()}`, async () => {
    const hash = await wallet.deployContract({ abi, bytecode, args });
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success" || !receipt.contractAddress)
      throw new Error(`deployment transaction "${hash}" failed`);
    // Receipts carry lower-case addresses; everything else viem returns is EIP-55.
    return getAddress(receipt.contractAddress);
  });
}

/**
 * Deploys token, MPE(token) and Registry from account 0, in that order. On a fresh anvil they land at
 * `FRESH_CHAIN_ADDRESSES`; on a used chain they land wherever account 0's nonce puts them.
 */
export async function deployContracts(rpcUrl: string): Promise<Deployment> {
  const probe = createPublicClient({ transport: http(rpcUrl) });
  const chainId = await probe.getChainId();
  const chain = chainFor(rpcUrl, chainId);
  const publicClient: KitPublicClient = createPublicClient({
    chain,
    transport: http(rpcUrl),
    pollingInterval: POLLING_INTERVAL_MS,
    cacheTime: 0,
  });
  const deployerWallet = walletFor(chain, rpcUrl, DEPLOYER.privateKey);

  const token = await deploy(publicClient, deployerWallet, rpcUrl, tokenAbi, tokenBytecode, ["Test FET", "FET"]);
  const mpe = await deploy(publicClient, deployerWallet, rpcUrl, mpeAbi, mpeBytecode, [token]);
  const registry = await deploy(publicClient, deployerWallet, rpcUrl, registryAbi, registryBytecode, []);
  return { token, mpe, registry, chainId, rpcUrl, publicClient, deployerWallet };
}
