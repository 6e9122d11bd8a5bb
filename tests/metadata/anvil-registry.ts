// A private anvil with the packaged Registry deployed, for the metadata suites only (the shared chain
// kit lives in tests/kit; this stays independent of it on purpose).
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import registryBytecode from "singularitynet-platform-contracts/bytecode/Registry.json" with { type: "json" };
import {
  type Address,
  createPublicClient,
  createWalletClient,
  type Hex,
  http,
  type PublicClient,
  stringToHex,
  type WalletClient,
} from "viem";
import { foundry } from "viem/chains";
import { orgIdToBytes32, registryAbi, serviceIdToBytes32 } from "../../src/chain/registry.ts";
import { freePort } from "../kit/ports.ts";

const ANVIL = path.join(import.meta.dir, "../../node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil");
/** Anvil account 0 (unlocked, so eth_sendTransaction needs no key here). */
const DEPLOYER: Address = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

export interface RegistryChain {
  rpcUrl: string;
  registry: Address;
  publicClient: PublicClient;
  /** Registers `orgId` with `uri`, padded with NULs to a multiple of 32 bytes as snet-cli does. */
  createOrganization(orgId: string, uri: string): Promise<void>;
  createService(orgId: string, serviceId: string, uri: string): Promise<void>;
  stop(): Promise<void>;
}

/** snet-cli: NUL padding to the next multiple of 32, always at least one NUL (protocol/metadata.md#metadata-uri). */
export function snetCliUriBytes(uri: string): Hex {
  const length = Math.floor(uri.length / 32) * 32 + 32;
  return stringToHex(uri, { size: length });
}

export async function startRegistryChain(): Promise<RegistryChain> {
  const port = await freePort();
  const child: ChildProcess = spawn(ANVIL, ["--port", String(port), "--host", "127.0.0.1", "--quiet"], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    child.kill("SIGTERM");
    await exited;
  };
  try {
    const rpcUrl = `http://127.0.0.1:${port}`;
    const transport = http(rpcUrl);
    const publicClient = createPublicClient({ chain: foundry, transport });
    const wallet: WalletClient = createWalletClient({ chain: foundry, transport, account: DEPLOYER });
    await waitForRpc(publicClient, child);
    const hash = await wallet.deployContract({
      abi: registryAbi,
      bytecode: registryBytecode as Hex,
      account: DEPLOYER,
      chain: foundry,
    });
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (!receipt.contractAddress) throw new Error("Registry deployment produced no contract address");
    const registry = receipt.contractAddress;
    const send = async (functionName: string, args: unknown[]) => {
      const tx = await wallet.writeContract({
        address: registry,
        abi: registryAbi,
        functionName,
        args,
        account: DEPLOYER,
        chain: foundry,
      });
      const r = await publicClient.waitForTransactionReceipt({ hash: tx });
      if (r.status !== "success") throw new Error(`${functionName} reverted`);
    };
    return {
      rpcUrl,
      registry,
      publicClient,
      createOrganization: (orgId, uri) =>
        send("createOrganization", [orgIdToBytes32(orgId), snetCliUriBytes(uri), [DEPLOYER]]),
      createService: (orgId, serviceId, uri) =>
        send("createServiceRegistration", [orgIdToBytes32(orgId), serviceIdToBytes32(serviceId), snetCliUriBytes(uri)]),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function waitForRpc(client: PublicClient, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`anvil exited with code ${child.exitCode}`);
    try {
      await client.getBlockNumber();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error("anvil did not answer within 10 s");
}
